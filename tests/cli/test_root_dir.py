"""`--trainer.default_root_dir DIR` holds everything a run writes: checkpoints, config.yaml, results.json, W&B's
files, CSV logs; the working directory is left as it was (seqlit/run/root.py). A run there resumes there."""

from __future__ import annotations

import json
from pathlib import Path

import torch

from tests.cli.test_resume_run import ENV, corpus
from tests.conftest import run_seqlit


def files(folder: Path) -> set[str]:
    return {str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file()}


def test_default_logger_writes_under_the_root_dir_and_resumes_there(tmp_path):
    args = [*corpus(tmp_path), "--trainer.val_check_interval", "2", "--trainer.default_root_dir", "out"]
    run_seqlit("fit", *args, "--trainer.max_steps", "2", cwd=tmp_path, env=ENV)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["corpus.txt", "out"]
    (run,) = (tmp_path / "out" / "seqlit").iterdir()
    assert {"config.yaml", "results.json", "checkpoints/last.ckpt"} <= files(run)
    assert list((tmp_path / "out" / "wandb").glob("offline-run-*"))
    assert json.loads((run / "results.json").read_text())["best_checkpoint"].startswith(str(tmp_path / "out"))

    run_seqlit("fit", *args, "--trainer.max_steps", "4", "--ckpt_path", str(run / "checkpoints" / "last.ckpt"),
               cwd=tmp_path, env=ENV)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["corpus.txt", "out"]
    assert [p.name for p in (tmp_path / "out" / "seqlit").iterdir()] == [run.name]  # the same run continued
    assert torch.load(run / "checkpoints" / "last.ckpt", weights_only=True)["global_step"] == 4


def test_a_relative_logger_folder_is_read_from_the_root_dir(tmp_path):
    run_seqlit("fit", *corpus(tmp_path), "--trainer.max_steps", "2", "--trainer.default_root_dir", "out",
               "--trainer.logger", "pytorch_lightning.loggers.CSVLogger", "--trainer.logger.save_dir", "logs",
               cwd=tmp_path, env=ENV)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["corpus.txt", "out"]
    written = files(tmp_path / "out")
    assert {"logs/version_0/metrics.csv", "logs/version_0/config.yaml",
            "logs/version_0/results.json"} <= written, written
    assert any(f.startswith("logs/version_0/checkpoints/") for f in written), written
