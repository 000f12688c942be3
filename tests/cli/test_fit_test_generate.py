"""The user's path through the CLI, end to end in subprocesses: fit -> test -> generate -> resume."""

from __future__ import annotations

import glob
from pathlib import Path

import pytest

from tests.conftest import REPO, run_seqlit
from tests.wandb_records import history

TINY = [
    "--config", str(REPO / "configs" / "quickstart.yaml"),
    "--model.init_args.backbone.hidden_size", "32", "--model.init_args.embedding_dim", "16",
    "--data.init_args.level", "word", "--data.init_args.batch_size", "4", "--data.init_args.bptt", "8",
    "--data.init_args.eval_batch_size", "2", "--trainer.max_time", "null",
    "--trainer.enable_progress_bar", "false", "--trainer.callbacks", "[]", "--trainer.log_every_n_steps", "1",
]


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """One small fit (4 steps, then tested) shared by the tests of this module."""
    tmp = tmp_path_factory.mktemp("cli")
    text = tmp / "corpus.txt"
    text.write_text("\n".join(f"the cat number {i % 7} sat on mat {i % 5} ." for i in range(400)) + "\n")
    proc = run_seqlit("fit", *TINY, "--data.init_args.path", str(text), "--trainer.max_steps", "4",
                      "--trainer.val_check_interval", "2", "--test_after_fit", "true", cwd=tmp)
    ckpts = sorted(glob.glob(str(tmp / "runs" / "seqlit" / "*" / "checkpoints" / "*.ckpt")))
    return tmp, text, proc, ckpts


def test_fit_writes_best_and_last_and_tests_best(trained):
    tmp, _, proc, ckpts = trained
    names = {Path(c).name for c in ckpts}
    assert "last.ckpt" in names and any(n.startswith("best-") for n in names)
    assert "test/ppl" in proc.stdout and "best checkpoint" in proc.stdout


def test_wandb_offline_run_holds_the_metrics(trained):
    tmp = trained[0]
    files = glob.glob(str(tmp / "runs" / "wandb" / "offline-run-*" / "run-*.wandb"))
    assert len(files) == 1
    keys = {k for row in history(Path(files[0])) for k in row}
    assert {"train/loss", "val/ppl", "test/ppl"} <= keys


def test_config_saved_beside_checkpoints(trained):
    tmp = trained[0]
    configs = glob.glob(str(tmp / "runs" / "seqlit" / "*" / "config.yaml"))
    assert len(configs) == 1 and "LanguageModel" in Path(configs[0]).read_text()


def test_test_and_generate_from_checkpoint_alone(trained):
    tmp, _, _, ckpts = trained
    last = next(c for c in ckpts if c.endswith("last.ckpt"))
    other = tmp / "elsewhere"
    other.mkdir()
    proc = run_seqlit("test", "--ckpt_path", last, "--trainer.logger", "false", cwd=other)
    assert "test/ppl" in proc.stdout
    assert list(other.iterdir()) == []  # no logger, no run folder: nothing written where it ran
    gen = run_seqlit("generate", "--ckpt_path", last, "--prompt", "the cat", "--max_tokens", "12", "--seed", "3", cwd=other)
    again = run_seqlit("generate", "--ckpt_path", last, "--prompt", "the cat", "--max_tokens", "12", "--seed", "3", cwd=other)
    assert gen.stdout.startswith("the cat") and gen.stdout == again.stdout


def test_resume_continues_from_last_checkpoint(trained):
    tmp, text, _, ckpts = trained
    last = next(c for c in ckpts if c.endswith("last.ckpt"))
    proc = run_seqlit("fit", *TINY, "--data.init_args.path", str(text), "--trainer.max_steps", "6",
                      "--trainer.logger", "false", "--ckpt_path", last, cwd=tmp)
    assert "Restoring states from the checkpoint" in proc.stdout + proc.stderr
    import torch

    # the resumed run continues in the folder of the checkpoint it resumes (tests/cli/test_resume_run.py)
    assert not (tmp / "checkpoints").exists()
    assert torch.load(last, weights_only=True)["global_step"] == 6
