"""A quick fit, its resume, a test and a predict print none of the libraries' irrelevant notes; SEQLIT_DEBUG=1 shows
them. Run with the default W&B logger, not silenced, as a user meets it."""

from __future__ import annotations

import logging
import os
import shutil

import pytest

from tests.cli.test_fit_test_generate import TINY
from tests.conftest import REPO, run_seqlit

NOISE = ["litlogger", "anonymous setting has no effect", "git root", "LeafSpec", "Please add the following callbacks",
         "dirpath has changed", "to return all indices", "exists and is not empty", "Generating train split",
         "No seed found", "multiple `ModelCheckpoint`"]
LOUD = {"WANDB_SILENT": "false", "OMP_NUM_THREADS": "1"}


def noise(proc) -> list[str]:
    out = proc.stdout + proc.stderr
    return [n for n in NOISE if n in out]


@pytest.fixture
def args(tmp_path) -> list[str]:
    text = tmp_path / "corpus.txt"
    text.write_text("\n".join(f"the cat number {i % 7} sat on mat {i % 5} ." for i in range(400)) + "\n")
    return [*TINY, "--data.init_args.path", str(text), "--trainer.val_check_interval", "2", "--num_threads", "1"]


def test_fit_resume_test_and_predict_are_quiet(tmp_path, args):
    # max_time makes Lightning's Timer, which the resume below lacks; checkpoint_every_n_steps a second ModelCheckpoint
    fit = run_seqlit("fit", *args, "--trainer.max_steps", "4", "--test_after_fit", "true", "--trainer.max_time",
                     "00:00:30:00", "--checkpoint_every_n_steps", "2", cwd=tmp_path, env=LOUD)
    assert noise(fit) == [], fit.stderr[-3000:]
    (last,) = tmp_path.glob("runs/seqlit/*/checkpoints/last.ckpt")
    resumed = run_seqlit("fit", *args, "--trainer.max_steps", "6", "--ckpt_path", str(last),
                         "--checkpoint_every_n_steps", "2", cwd=tmp_path, env=LOUD)
    assert noise(resumed) == [], resumed.stderr[-3000:]
    test = run_seqlit("test", "--ckpt_path", str(last), "--num_threads", "1", cwd=tmp_path, env=LOUD)
    assert "test/ppl" in test.stdout and noise(test) == [], test.stderr[-3000:]
    shutil.copy(REPO / "tests" / "fixtures" / "legacy" / "tagger.ckpt", tmp_path)
    (tmp_path / "in.txt").write_text("Maria works for Siemens in Paris .\n", encoding="utf-8")
    predict = run_seqlit("predict", "--ckpt_path", "tagger.ckpt", "--data.init_args.predict_file", "in.txt",
                         "--predict_output", "out.jsonl", "--num_threads", "1", cwd=tmp_path, env=LOUD)
    assert noise(predict) == [], predict.stderr[-3000:]


def test_debug_shows_everything(tmp_path, args):
    proc = run_seqlit("fit", *args, "--trainer.max_steps", "2", cwd=tmp_path, env={**LOUD, "SEQLIT_DEBUG": "1"})
    assert {"litlogger", "anonymous setting has no effect", "git root", "Generating train split"} <= set(noise(proc))


def test_a_one_process_run_gets_no_srun_hint(tmp_path):
    """Where SLURM is installed (an `srun` on PATH), Lightning hinted at `srun` on every command, even a one-process
    predict; the hint is for multi-process jobs, which hang without srun."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "srun").write_text("#!/bin/sh\nexit 1\n")
    (bin_dir / "srun").chmod(0o755)
    shutil.copy(REPO / "tests" / "fixtures" / "legacy" / "tagger.ckpt", tmp_path)
    (tmp_path / "in.txt").write_text("Maria works for Siemens in Paris .\n", encoding="utf-8")
    env = {**LOUD, "PATH": f"{bin_dir}:{os.environ['PATH']}"}
    args = ["predict", "--ckpt_path", "tagger.ckpt", "--data.init_args.predict_file", "in.txt", "--predict_output",
            "out.jsonl", "--num_threads", "1"]
    assert "`srun` command is available" not in run_seqlit(*args, cwd=tmp_path, env=env).stderr
    shown = run_seqlit(*args, "--overwrite", "true", cwd=tmp_path, env={**env, "SEQLIT_DEBUG": "1"}).stderr
    assert "`srun` command is available" in shown  # the fake srun is seen: the hint above was silenced, not missed


def test_lightnings_sigterm_line_is_dropped(caplog):
    """seqlit's own line names the signal and what the run does about it; Lightning's said it again before it."""
    from seqlit.cli.quiet import quiet

    quiet("fit")
    log = logging.getLogger("pytorch_lightning.trainer.connectors.signal_connector")
    with caplog.at_level(logging.INFO):
        log.info("[rank: 0] Received SIGTERM: 15")
        log.info("Requeued SLURM job: 4242")
    assert [r.getMessage() for r in caplog.records] == ["Requeued SLURM job: 4242"]
