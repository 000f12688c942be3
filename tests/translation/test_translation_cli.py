"""End to end through the command line, offline: fit a tiny encoder–decoder from each config,
test it and translate raw text from the checkpoint alone."""

from __future__ import annotations

import glob
import json
import re
import sys
from pathlib import Path

import pytest

from seqlit.cli.main import main
from tests.conftest import run_seqlit
from tests.translation.corpus import write_corpus

CONFIGS = Path(__file__).resolve().parents[2] / "configs" / "translation"
QUIET = ["--trainer.enable_progress_bar", "false", "--trainer.enable_model_summary", "false"]
TINY = ["--model.init_args.embedding_dim", "16", "--model.init_args.backbone.hidden_size", "16",
        "--model.init_args.decoder.hidden_size", "32", "--model.init_args.attention_size", "16",
        "--trainer.max_time", "null", *QUIET]
NO_LOGGER = ["--trainer.logger", "false"]


def best_checkpoint(folder: Path) -> str:
    ckpts = glob.glob(str(folder / "runs" / "seqlit" / "*" / "checkpoints" / "best-*.ckpt"))
    assert len(ckpts) == 1, ckpts
    return ckpts[0]


def read_jsonl(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def test_multi30k_config_on_local_files_fit_test_predict(tmp_path):
    data = write_corpus(tmp_path / "multi30k", "parquet")
    run_seqlit("fit", "--config", str(CONFIGS / "multi30k_gru_attn.yaml"), "--data.init_args.path", str(data),
               "--data.init_args.batch_size", "16", "--data.init_args.min_freq", "1", "--trainer.max_epochs", "1",
               "--model.init_args.max_output_length", "12", "--test_after_fit", "false", *TINY, cwd=tmp_path)
    ckpt = best_checkpoint(tmp_path)

    tested = run_seqlit("test", "--ckpt_path", ckpt, *QUIET, cwd=tmp_path)
    assert "test/bleu" in tested.stdout and "test/exact_match" in tested.stdout

    (tmp_path / "src.txt").write_text("Der Hund sieht den Ball.\n\nEine Frau sucht das Haus.\n", encoding="utf-8")
    run_seqlit("predict", "--ckpt_path", ckpt, "--data.init_args.predict_file", "src.txt",
               "--data.init_args.path", "no/longer/there", "--model.init_args.decode", "beam",
               "--predict_output", "out.jsonl", *QUIET, cwd=tmp_path)
    records = read_jsonl(tmp_path / "out.jsonl")
    assert [r["index"] for r in records] == [0, 1, 2]
    assert records[1] == {"index": 1, "skipped": "blank line"}  # record k is line k
    assert records[2]["source"] == "Eine Frau sucht das Haus."
    translated = [records[0], records[2]]
    assert all(isinstance(r["translation"], str) and len(r["translation"].split()) <= 12 for r in translated)


def fit_dates_in_process(folder: Path, config: str) -> str:
    """`seqlit fit` (tiny, then test) in this process: a subprocess costs ~15 s of imports on a loaded
    2-core machine. Returns the best checkpoint."""
    main(["fit", "--config", str(CONFIGS / f"{config}.yaml"), "--data.init_args.train_size", "128",
          "--data.init_args.val_size", "32", "--data.init_args.test_size", "32", "--data.init_args.batch_size", "32",
          "--trainer.max_epochs", "1", "--test_after_fit", "true", *NO_LOGGER, *TINY,
          "--trainer.callbacks+=seqlit.callbacks.throughput.Throughput"])  # as the benchmark runs it
    (ckpt,) = glob.glob(str(folder / "checkpoints" / "best-*.ckpt"))
    return ckpt


@pytest.fixture
def in_tmp(tmp_path, monkeypatch) -> Path:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(sys, "argv", ["seqlit"])
    return tmp_path


@pytest.mark.parametrize("config", ["dates_lstm_attn", "dates_gru_noattn"])
def test_dates_configs_fit_and_test(in_tmp, capsys, config):
    fit_dates_in_process(in_tmp, config)
    assert "test/exact_match" in capsys.readouterr().out


def test_dates_fit_test_then_predict_from_the_checkpoint_with_beam_search(in_tmp, capsys):
    ckpt = fit_dates_in_process(in_tmp, "dates_gru_attn")
    assert "test/exact_match" in capsys.readouterr().out
    (in_tmp / "dates.txt").write_text("3rd of March 2021\nWed 03/03/21\n", encoding="utf-8")
    main(["predict", "--ckpt_path", ckpt, "--data.init_args.predict_file", "dates.txt",
          "--model.init_args.decode", "beam", "--predict_output", "dates.jsonl", *NO_LOGGER, *QUIET])
    records = read_jsonl(in_tmp / "dates.jsonl")
    assert [(r["index"], r["source"]) for r in records] == [(0, "3rd of March 2021"), (1, "Wed 03/03/21")]
    # at most max_output_length = 12 tokens, each a character of an ISO date (or <unk>)
    assert all(re.fullmatch(r"([0-9-]|<unk>){0,12}", r["translation"]) for r in records), records
