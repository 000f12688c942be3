"""Run folders on fsspec URLs, and run files that follow the user's umask, through the CLI.

* `--trainer.default_root_dir memory://…` (in this process: the memory filesystem lives as long as it does):
  checkpoints and config.yaml land there and nowhere on disk, load weights-only, and a run resumes from them.
* `--trainer.default_root_dir file:///…` (a subprocess, under umask 002): checkpoints and config.yaml are
  where the URL says, with mode 664, not mkstemp's 600; so are predictions written to a `file://` URL.
"""

from __future__ import annotations

import io
import os
import sys
from types import SimpleNamespace

import fsspec
import pytest

from seqlit.callbacks.predictions import JsonlPredictionWriter
from seqlit.io.checkpoints import load_checkpoint
from seqlit.cli.main import main
from tests.conftest import REPO, run_seqlit

# The task config's own model; only the data and the step budget are small.
TINY = ["--config", str(REPO / "configs/quickstart.yaml"), "--data.init_args.batch_size", "2",
        "--data.init_args.eval_batch_size", "2", "--data.init_args.bptt", "16", "--trainer.max_time", "null",
        "--trainer.limit_val_batches", "1", "--trainer.val_check_interval", "2", "--trainer.logger", "false",
        "--trainer.callbacks", "[]", "--test_after_fit", "false", "--trainer.enable_progress_bar", "false",
        "--trainer.enable_model_summary", "false"]


def run_in_process(monkeypatch, *args: str) -> None:
    monkeypatch.setattr(sys, "argv", ["seqlit"])
    main(list(args))


def test_run_folder_on_memory_url(tiny_corpus, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    fs = fsspec.filesystem("memory")
    root = "memory://seqlit-test/run"
    try:
        run_in_process(monkeypatch, "fit", *TINY, "--data.init_args.path", str(tiny_corpus), "--trainer.max_steps", "2",
                       "--trainer.default_root_dir", root)
        files = sorted(p.removeprefix("/seqlit-test/run/") for p in fs.find("/seqlit-test/run"))
        assert "config.yaml" in files and "checkpoints/last.ckpt" in files, files
        assert not any(".tmp-" in p for p in files), files
        assert sorted(p.name for p in tmp_path.iterdir()) == ["corpus.txt"], "the run wrote to the local disk"
        assert load_checkpoint(f"{root}/checkpoints/last.ckpt")["global_step"] == 2

        run_in_process(monkeypatch, "fit", *TINY, "--data.init_args.path", str(tiny_corpus), "--trainer.max_steps", "4",
                       "--trainer.default_root_dir", f"{root}-resumed", "--ckpt_path", f"{root}/checkpoints/last.ckpt")
        assert load_checkpoint(f"{root}-resumed/checkpoints/last.ckpt")["global_step"] == 4
    finally:
        if fs.exists("/seqlit-test"):
            fs.rm("/seqlit-test", recursive=True)


def test_run_folder_on_file_url_follows_the_umask(tiny_corpus, tmp_path):
    old = os.umask(0o002)  # inherited by the subprocesses
    try:
        run_seqlit("fit", *TINY, "--data.init_args.path", str(tiny_corpus), "--trainer.max_steps", "2",
                   "--trainer.default_root_dir", f"file://{tmp_path}/run", cwd=tmp_path)
        writer, trainer = JsonlPredictionWriter(f"file://{tmp_path}/out/predictions.jsonl", io.StringIO()), \
            SimpleNamespace(world_size=1, is_global_zero=True, datamodule=None)
        writer.on_predict_start(trainer, None)
        writer.on_predict_batch_end(trainer, None, [{"index": 1}, {"index": 0}], {}, 0)
        writer.on_predict_epoch_end(trainer, None)
    finally:
        os.umask(old)
    written = [tmp_path / "run" / "checkpoints" / "last.ckpt", tmp_path / "run" / "config.yaml",
               tmp_path / "out" / "predictions.jsonl"]
    assert (tmp_path / "out" / "predictions.jsonl").read_text() == '{"index": 0}\n{"index": 1}\n'
    modes = {p.name: oct(p.stat().st_mode & 0o777) for p in written}
    assert modes == {p.name: "0o664" for p in written}, modes
    assert not list(tmp_path.rglob(".tmp-*")), "a temporary file was left behind"
    assert not (tmp_path / "file:").exists(), "the URL was taken for a relative folder"
