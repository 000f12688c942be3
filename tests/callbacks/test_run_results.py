"""results.json: a fit (then test) and a validate from the CLI each leave one, complete, in their run folder."""

from __future__ import annotations

import glob
import json
import math
import os
import subprocess
from pathlib import Path
from types import SimpleNamespace

import pytest

from seqlit.callbacks.run_results import FILENAME, RunResults
from tests.conftest import REPO, run_seqlit

TINY = [
    "--config", str(REPO / "configs" / "quickstart.yaml"),
    "--model.init_args.backbone.hidden_size", "32", "--model.init_args.embedding_dim", "16",
    "--data.init_args.level", "word", "--data.init_args.batch_size", "4", "--data.init_args.bptt", "8",
    "--data.init_args.eval_batch_size", "2", "--trainer.max_time", "null", "--trainer.enable_progress_bar", "false",
    "--trainer.callbacks", "[]", "--trainer.callbacks+=seqlit.callbacks.throughput.Throughput",
    "--trainer.logger", "pytorch_lightning.loggers.CSVLogger", "--trainer.logger.save_dir", "runs",
]


@pytest.fixture(scope="module")
def fitted(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("results")
    text = tmp / "corpus.txt"
    text.write_text("\n".join(f"the cat number {i % 7} sat on mat {i % 5} ." for i in range(400)) + "\n")
    run_seqlit("fit", *TINY, "--data.init_args.path", str(text), "--trainer.max_steps", "6",
               "--trainer.val_check_interval", "3", "--test_after_fit", "true", cwd=tmp)
    found = glob.glob(str(tmp / "runs" / "**" / FILENAME), recursive=True)
    assert len(found) == 1, found
    return tmp, text, Path(found[0])


def test_fit_then_test_writes_everything_the_benchmark_reads(fitted):
    _, _, path = fitted
    res = json.loads(path.read_text())
    assert res["stages"] == ["fit", "test"]
    assert {"val/ppl", "test/ppl", "train/tokens_per_s"} <= set(res["metrics"])
    assert math.isfinite(res["metrics"]["test/ppl"]) and res["metrics"]["test/ppl"] > 1
    assert res["tokens_per_s"] == res["metrics"]["train/tokens_per_s"] > 0
    assert os.path.isfile(res["best_checkpoint"]) and Path(res["best_checkpoint"]).parent.parent == path.parent
    assert res["model"]["task"] == "language_modeling" and res["model"]["params"] > 0
    assert res["model"]["backbone"]["kind"] == "gru" and res["device"].startswith("cpu")
    assert res["global_step"] == 6
    assert [v["step"] for v in res["validation"]] == [3, 6]  # fit's passes, not the sanity check
    assert all("val/ppl" in v["metrics"] and v["time_s"] > 0 for v in res["validation"])
    assert [p.name for p in path.parent.iterdir() if ".tmp" in p.name] == []
    # how to train it again: the command as typed and the commit of the checkout that ran it
    assert res["command"][:4] == ["python", "-m", "seqlit", "fit"] and res["command"][-2:] == ["--test_after_fit", "true"]
    head = subprocess.run(["git", "-C", str(REPO), "rev-parse", "HEAD"], capture_output=True, text=True)
    assert res["commit"] == (head.stdout.strip() if head.returncode == 0 else None)
    assert isinstance(res["dirty"], bool) or res["commit"] is None


def test_validate_writes_its_own_results(fitted):
    tmp, text, path = fitted
    best = json.loads(path.read_text())["best_checkpoint"]
    run_seqlit("validate", "--ckpt_path", best, *TINY[TINY.index("--trainer.enable_progress_bar"):],
               "--data.init_args.path", str(text), cwd=tmp)
    found = sorted(glob.glob(str(tmp / "runs" / "**" / FILENAME), recursive=True))
    assert len(found) == 2
    res = json.loads(Path(found[1]).read_text())
    assert res["stages"] == ["validate"] and res["ckpt_path"] == best
    assert "val/ppl" in res["metrics"] and res["validation"] == []
    assert res["best_checkpoint"] == best  # restored from the checkpoint's ModelCheckpoint state


def test_only_global_rank_zero_writes(tmp_path, monkeypatch):
    trainer = SimpleNamespace(is_global_zero=False, callback_metrics={}, logger=object())
    monkeypatch.chdir(tmp_path)
    RunResults().teardown(trainer, None, "test")
    assert list(tmp_path.iterdir()) == []
