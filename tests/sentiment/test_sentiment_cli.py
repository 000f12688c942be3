"""End to end through the command line: fit a tiny classifier, test it, and label raw text from the checkpoint alone."""

from __future__ import annotations

import glob
import json
import os
import subprocess
import sys
from pathlib import Path

from tests.sentiment.corpus import make_sst_dir

CONFIGS = Path(__file__).resolve().parents[2] / "configs" / "sentiment"
# No W&B run: its start-up alone costs more than the rest of this test (tests/cli covers offline W&B)
QUIET = ["--trainer.logger", "false", "--trainer.enable_progress_bar", "false", "--trainer.enable_model_summary", "false"]


def seqlit(*args: str, cwd: Path) -> str:
    """`python -m seqlit ARGS` in `cwd`, offline; insists that it succeeds and returns its standard output."""
    env = {**os.environ, "WANDB_MODE": "offline", "WANDB_SILENT": "true", "HF_DATASETS_OFFLINE": "1", "HF_HUB_OFFLINE": "1"}
    done = subprocess.run([sys.executable, "-m", "seqlit", *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, f"seqlit {args[0]} failed:\n{done.stdout[-2000:]}\n{done.stderr[-3000:]}"
    return done.stdout


def test_fit_test_predict_from_checkpoint(tmp_path):
    data = make_sst_dir(tmp_path / "sst", n_train=256)
    seqlit("fit", "--config", str(CONFIGS / "sst2_bigru.yaml"), "--data.init_args.path", str(data),
           "--model.init_args.embedding_dim", "16", "--model.init_args.backbone.hidden_size", "16",
           "--data.init_args.batch_size", "16", "--trainer.max_epochs", "2", "--trainer.max_time", "null",
           "--test_after_fit", "false", *QUIET, cwd=tmp_path)
    ckpts = glob.glob(str(tmp_path / "checkpoints" / "best-*.ckpt"))
    assert len(ckpts) == 1, ckpts
    ckpt = ckpts[0]

    tested = seqlit("test", "--ckpt_path", ckpt, *QUIET, cwd=tmp_path)
    for metric in ("test/acc", "test/f1_macro", "test/auroc"):
        assert metric in tested

    # predict needs the checkpoint only: the training data's path may be gone
    raw = tmp_path / "raw.txt"
    raw.write_text("What a wonderful, charming film!\n\nIt's dull and tedious.\n", encoding="utf-8")
    seqlit("predict", "--ckpt_path", ckpt, "--data.init_args.predict_file", str(raw),
           "--data.init_args.path", "no/longer/there", "--predict_output", "out.jsonl", *QUIET, cwd=tmp_path)
    records = [json.loads(line) for line in (tmp_path / "out.jsonl").read_text(encoding="utf-8").splitlines()]
    assert [r["index"] for r in records] == [0, 1, 2]
    assert records.pop(1) == {"index": 1, "skipped": "blank line"}  # record k is line k
    assert records[1]["text"] == "It's dull and tedious."
    for r in records:
        assert set(r["probs"]) == {"negative", "positive"} and abs(sum(r["probs"].values()) - 1) < 1e-4
        assert r["label"] == max(r["probs"], key=r["probs"].get)
