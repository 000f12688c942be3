"""`validate`, `test` and `predict` leave no clutter: no W&B run and no run folder unless a logger is asked for;
validate and test add their metrics to the evaluated run's results.json (seqlit/cli/evaluation_runs.py)."""

from __future__ import annotations

import json
import shutil

from seqlit.cli.evaluation_runs import checkpoint_run, logger_asked
from tests.cli.test_resume_run import ENV, corpus
from tests.conftest import REPO, run_seqlit


def files(folder) -> set[str]:
    return {str(p.relative_to(folder)) for p in folder.rglob("*")}


def test_evaluations_leave_no_clutter_and_report_into_the_run(tmp_path):
    run_seqlit("fit", *corpus(tmp_path), "--trainer.max_steps", "2", cwd=tmp_path, env=ENV)
    (run,) = (tmp_path / "runs" / "seqlit").iterdir()
    fit_results = json.loads((run / "results.json").read_text())
    before = files(tmp_path)
    last = run / "checkpoints" / "last.ckpt"
    tested = run_seqlit("test", "--ckpt_path", str(last), "--trainer.enable_progress_bar", "false", cwd=tmp_path, env=ENV)
    assert "test/ppl" in tested.stdout  # the terminal report
    run_seqlit("validate", "--ckpt_path", str(last), "--trainer.enable_progress_bar", "false", cwd=tmp_path, env=ENV)
    shutil.copy(REPO / "tests" / "fixtures" / "legacy" / "tagger.ckpt", tmp_path)
    (tmp_path / "in.txt").write_text("Maria works for Siemens in Paris .\n", encoding="utf-8")
    run_seqlit("predict", "--ckpt_path", "tagger.ckpt", "--data.init_args.predict_file", "in.txt",
               "--predict_output", "out.jsonl", cwd=tmp_path, env=ENV)
    assert files(tmp_path) == before | {"tagger.ckpt", "in.txt", "out.jsonl"}  # no W&B run, no run folder

    results = json.loads((run / "results.json").read_text())
    assert {k: v for k, v in results.items() if k != "evaluations"} == fit_results  # the fit's record is kept
    test, validate = results["evaluations"]
    assert test["stage"] == "test" and validate["stage"] == "validate"
    assert test["ckpt_path"] == validate["ckpt_path"] == str(last)
    assert "test/ppl" in test["metrics"] and "val/ppl" in validate["metrics"]


def test_a_logger_is_asked_for_on_the_command_line_or_in_a_config(tmp_path):
    assert not logger_asked(["--ckpt_path", "x.ckpt", "--trainer.max_steps", "2"])
    assert logger_asked(["--trainer.logger", "pytorch_lightning.loggers.CSVLogger"])
    assert logger_asked(["--trainer.logger=true"]) and logger_asked(["--trainer.logger.project", "evals"])
    with_logger, without = tmp_path / "a.yaml", tmp_path / "b.yaml"
    with_logger.write_text("trainer:\n  logger:\n    class_path: pytorch_lightning.loggers.WandbLogger\n")
    without.write_text("trainer:\n  max_steps: 3\n")
    assert logger_asked(["--config", str(without), f"--config={with_logger}"])
    assert not logger_asked(["--config", str(without)])
    assert logger_asked(["--config", "{trainer: {logger: false}}"])  # a config given as a string


def test_the_run_of_a_checkpoint_is_the_folder_above_checkpoints(tmp_path):
    assert checkpoint_run(str(tmp_path / "run" / "checkpoints" / "last.ckpt")) == str(tmp_path / "run")
    assert checkpoint_run(str(tmp_path / "tagger.ckpt")) is None
    assert checkpoint_run("memory://b/run/checkpoints/last.ckpt") is None and checkpoint_run(None) is None
