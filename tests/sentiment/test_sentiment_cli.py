"""End to end through the command line (`seqlit.cli.main`, in this process): fit a tiny classifier,
test it, and label raw text from the checkpoint alone."""

from __future__ import annotations

import glob
import json
import sys
from pathlib import Path

from seqlit.cli.main import main
from tests.sentiment.corpus import make_sst_dir

CONFIGS = Path(__file__).resolve().parents[2] / "configs" / "sentiment"
# No W&B run: its start-up alone costs more than the rest of this test (tests/cli covers offline W&B)
QUIET = ["--trainer.logger", "false", "--trainer.enable_progress_bar", "false", "--trainer.enable_model_summary", "false"]


def seqlit(*args: str, capsys) -> str:
    """`seqlit ARGS` in this process (a subprocess pays ~15 s of imports on a loaded 2-core machine; the
    console script's own exit codes are tests/test_bad_input.py's and tests/cli's): its standard output."""
    capsys.readouterr()
    main(list(args))
    return capsys.readouterr().out


def test_fit_test_predict_from_checkpoint(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(sys, "argv", ["seqlit"])
    data = make_sst_dir(tmp_path / "sst", n_train=256)
    seqlit("fit", "--config", str(CONFIGS / "sst2_bigru.yaml"), "--data.init_args.path", str(data),
           "--model.init_args.embedding_dim", "16", "--model.init_args.backbone.hidden_size", "16",
           "--data.init_args.batch_size", "16", "--trainer.max_epochs", "2", "--trainer.max_time", "null",
           "--test_after_fit", "false", *QUIET, capsys=capsys)
    ckpts = glob.glob(str(tmp_path / "checkpoints" / "best-*.ckpt"))
    assert len(ckpts) == 1, ckpts
    ckpt = ckpts[0]

    tested = seqlit("test", "--ckpt_path", ckpt, *QUIET, capsys=capsys)
    for metric in ("test/acc", "test/f1_macro", "test/auroc"):
        assert metric in tested

    # predict needs the checkpoint only: the training data's path may be gone
    raw = tmp_path / "raw.txt"
    raw.write_text("What a wonderful, charming film!\n\nIt's dull and tedious.\n", encoding="utf-8")
    seqlit("predict", "--ckpt_path", ckpt, "--data.init_args.predict_file", str(raw),
           "--data.init_args.path", "no/longer/there", "--predict_output", "out.jsonl", *QUIET, capsys=capsys)
    records = [json.loads(line) for line in (tmp_path / "out.jsonl").read_text(encoding="utf-8").splitlines()]
    assert [r["index"] for r in records] == [0, 1, 2]
    assert records.pop(1) == {"index": 1, "skipped": "blank line"}  # record k is line k
    assert records[1]["text"] == "It's dull and tedious."
    for r in records:
        assert set(r["probs"]) == {"negative", "positive"} and abs(sum(r["probs"].values()) - 1) < 1e-4
        assert r["label"] == max(r["probs"], key=r["probs"].get)
