"""End to end through the command line: fit a tiny tagger, test it and tag raw text from the checkpoint alone."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

CONFIG = Path(__file__).resolve().parents[2] / "configs" / "tagging" / "conll2003_bilstm_crf.yaml"
QUIET = ["--trainer.logger", "false", "--trainer.enable_progress_bar", "false", "--trainer.enable_model_summary", "false"]


def seqlit(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    # one thread: a tiny model gains nothing from two, and loses a lot when other processes share the cores
    env = {**os.environ, "WANDB_MODE": "offline", "HF_DATASETS_OFFLINE": "1", "HF_HUB_OFFLINE": "1", "OMP_NUM_THREADS": "1"}
    done = subprocess.run([sys.executable, "-m", "seqlit", *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=180)
    assert done.returncode == 0, f"seqlit {args[0]} failed:\n{done.stderr[-3000:]}"
    return done


def test_fit_test_predict_from_checkpoint(conll_dir, tmp_path):
    seqlit("fit", "--config", str(CONFIG), "--data.init_args.path", str(conll_dir),
           "--model.init_args.backbone.hidden_size", "16", "--model.init_args.embedding_dim", "12", "--model.init_args.char_features", "8",
           "--trainer.max_steps", "5", "--trainer.max_epochs", "5", "--trainer.limit_val_batches", "1",
           "--test_after_fit", "false", "--trainer.callbacks+=seqlit.callbacks.throughput.Throughput",  # as benchmark runs it
           *QUIET, cwd=tmp_path)
    ckpt = tmp_path / "checkpoints" / "last.ckpt"
    assert ckpt.is_file()

    tested = seqlit("test", "--ckpt_path", str(ckpt), *QUIET, cwd=tmp_path)
    assert "test/f1" in tested.stdout and "test/f1_PER" in tested.stdout

    raw = tmp_path / "raw.txt"
    raw.write_text("Maria works for Siemens in Hong Kong.\n\nJohn Smith lives in Paris .\n", encoding="utf-8")
    seqlit("predict", "--ckpt_path", str(ckpt), "--data.init_args.predict_file", str(raw),
           "--predict_output", "out.jsonl", *QUIET, cwd=tmp_path)
    records = [json.loads(line) for line in (tmp_path / "out.jsonl").read_text(encoding="utf-8").splitlines()]
    assert [r["index"] for r in records] == [0, 1, 2]
    assert records.pop(1) == {"index": 1, "skipped": "blank line"}  # record k is line k
    assert records[1]["tokens"] == ["John", "Smith", "lives", "in", "Paris", "."]
    for r in records:
        assert len(r["tags"]) == len(r["tokens"])
        for e in r["entities"]:
            assert e["type"] in {"PER", "LOC", "ORG"}
            assert r["text"][e["start"]:e["end"]] == e["text"]
            assert e["text"].startswith(r["tokens"][e["token_start"]]) and e["text"].endswith(r["tokens"][e["token_end"] - 1])
