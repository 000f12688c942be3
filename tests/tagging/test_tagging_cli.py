"""End to end through the command line (`seqlit.cli.main`, in this process): fit a tiny tagger,
test it and tag raw text from the checkpoint alone."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from seqlit.cli.main import main

CONFIG = Path(__file__).resolve().parents[2] / "configs" / "tagging" / "conll2003_bilstm_crf.yaml"
QUIET = ["--trainer.logger", "false", "--trainer.enable_progress_bar", "false", "--trainer.enable_model_summary", "false"]


def seqlit(*args: str, capsys) -> str:
    """`seqlit ARGS` in this process (a subprocess pays ~15 s of imports on a loaded 2-core machine; the
    console script's own exit codes are tests/test_bad_input.py's and tests/cli's): its standard output."""
    capsys.readouterr()
    main(list(args))
    return capsys.readouterr().out


def test_fit_test_predict_from_checkpoint(conll_dir, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(sys, "argv", ["seqlit"])
    seqlit("fit", "--config", str(CONFIG), "--data.init_args.path", str(conll_dir),
           "--model.init_args.backbone.hidden_size", "16", "--model.init_args.embedding_dim", "12", "--model.init_args.char_features", "8",
           "--trainer.max_steps", "5", "--trainer.max_epochs", "5", "--trainer.limit_val_batches", "1",
           "--test_after_fit", "false", "--trainer.callbacks+=seqlit.callbacks.throughput.Throughput",  # as benchmark runs it
           *QUIET, capsys=capsys)
    ckpt = tmp_path / "checkpoints" / "last.ckpt"
    assert ckpt.is_file()

    tested = seqlit("test", "--ckpt_path", str(ckpt), *QUIET, capsys=capsys)
    assert "test/f1" in tested and "test/f1_PER" in tested

    raw = tmp_path / "raw.txt"
    raw.write_text("Maria works for Siemens in Hong Kong.\n\nJohn Smith lives in Paris .\n", encoding="utf-8")
    seqlit("predict", "--ckpt_path", str(ckpt), "--data.init_args.predict_file", str(raw),
           "--predict_output", "out.jsonl", *QUIET, capsys=capsys)
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
