"""`fit --ckpt_path RUN/checkpoints/last.ckpt` continues RUN: its folder, its W&B run id, its best score; it finishes
the epoch it was in; and a run whose `max_time` is spent says so, and how to extend it, in one line."""

from __future__ import annotations

import csv
import re
from pathlib import Path

import torch

from tests.cli.test_fit_test_generate import TINY
from tests.conftest import run_seqlit
from tests.wandb_records import history

QUIET = ["--trainer.enable_model_summary", "false", "--test_after_fit", "false", "--num_threads", "1"]
ENV = {"OMP_NUM_THREADS": "1"}


def corpus(folder: Path) -> list[str]:
    text = folder / "corpus.txt"
    text.write_text("\n".join(f"the cat number {i % 7} sat on mat {i % 5} ." for i in range(400)) + "\n")
    return [*TINY, *QUIET, "--data.init_args.path", str(text)]


def checkpoint_state(ckpt: dict) -> dict:
    (state,) = [v for k, v in ckpt["callbacks"].items() if k.startswith("ModelCheckpoint{")]
    return state


def test_resume_continues_the_run_and_keeps_its_best(tmp_path):
    args = corpus(tmp_path)
    run_seqlit("fit", *args, "--trainer.max_steps", "4", "--trainer.val_check_interval", "2", cwd=tmp_path, env=ENV)
    (run,) = (tmp_path / "runs" / "seqlit").iterdir()
    last = run / "checkpoints" / "last.ckpt"
    # a best that no later validation can beat (perplexity 1 is perfect): it must survive the resume
    ckpt = torch.load(last, weights_only=True)
    state = checkpoint_state(ckpt)
    old_best = state["best_model_path"]
    state["best_model_score"] = state["kth_value"] = torch.tensor(1.0)
    state["best_k_models"] = {old_best: torch.tensor(1.0)}
    torch.save(ckpt, last)

    proc = run_seqlit("fit", *args, "--trainer.max_steps", "8", "--trainer.val_check_interval", "2",
                      "--ckpt_path", str(last), cwd=tmp_path, env=ENV)
    assert "dirpath has changed" not in proc.stderr
    assert [p.name for p in (tmp_path / "runs" / "seqlit").iterdir()] == [run.name]  # no new run folder
    assert (run / "config-1.yaml").is_file()  # the resumed run's config, beside the first one's
    wandb_runs = sorted((tmp_path / "runs" / "wandb").glob("offline-run-*"))
    assert len(wandb_runs) == 2 and all(p.name.endswith(run.name) for p in wandb_runs)  # the same W&B run id
    resumed_steps = [row["trainer/global_step"] for row in history(next(wandb_runs[1].glob("*.wandb")))
                     if "val/ppl" in row]
    assert resumed_steps == [5, 7]  # validations of the resumed part: it started at step 4 (Lightning logs step-1)

    final = torch.load(last, weights_only=True)
    assert final["global_step"] == 8
    state = checkpoint_state(final)
    assert float(state["best_model_score"]) == 1.0
    assert Path(state["best_model_path"]).name == Path(old_best).name
    assert Path(state["best_model_path"]).is_file()
    assert "best checkpoint: " + state["best_model_path"] in proc.stdout


def test_resume_finishes_the_epoch_it_was_in(tmp_path):
    """Stopped by max_steps mid-epoch without a validation there, resumed to the end of the epoch."""
    args = [*corpus(tmp_path), "--trainer.logger", "false", "--trainer.max_epochs", "1"]
    run_seqlit("fit", *args, cwd=tmp_path, env=ENV)
    steps_per_epoch = torch.load(tmp_path / "checkpoints" / "last.ckpt", weights_only=True)["global_step"]
    for ckpt in (tmp_path / "checkpoints").iterdir():
        ckpt.unlink()
    run_seqlit("fit", *args, "--trainer.max_steps", "7", cwd=tmp_path, env=ENV)
    stopped = torch.load(tmp_path / "checkpoints" / "last.ckpt", weights_only=True)
    assert stopped["global_step"] == 7  # last.ckpt is where training stopped, with no validation since the start
    run_seqlit("fit", *args, "--ckpt_path", str(tmp_path / "checkpoints" / "last.ckpt"), cwd=tmp_path, env=ENV)
    done = torch.load(tmp_path / "checkpoints" / "last.ckpt", weights_only=True)
    assert (done["epoch"], done["global_step"]) == (stopped["epoch"], steps_per_epoch)


def test_resume_with_max_time_spent_says_how_to_extend_it(tmp_path):
    args = [*corpus(tmp_path), "--trainer.logger", "false", "--trainer.max_epochs", "1000", "--trainer.max_time",
            "00:00:00:01"]
    run_seqlit("fit", *args, cwd=tmp_path, env=ENV)
    last = tmp_path / "checkpoints" / "last.ckpt"
    step = torch.load(last, weights_only=True)["global_step"]
    proc = run_seqlit("fit", *args, "--ckpt_path", str(last), cwd=tmp_path, env=ENV, check=False)
    errors = [line for line in proc.stderr.splitlines() if line.startswith("seqlit: error:")]
    assert proc.returncode == 2 and len(errors) == 1 and "max_time" in errors[0], proc.stderr[-2000:]
    suggested = re.search(r"--trainer\.max_time (\d\d:\d\d:\d\d:\d\d)", errors[0]).group(1)
    run_seqlit("fit", *args[:-1], suggested, "--ckpt_path", str(last), cwd=tmp_path, env=ENV)
    assert torch.load(last, weights_only=True)["global_step"] > step


def test_resume_sent_elsewhere_starts_its_own_folder(tmp_path):
    """`--trainer.default_root_dir` a folder that does not hold the checkpoint: the user chose where this run goes."""
    args = [*corpus(tmp_path), "--trainer.logger", "false", "--trainer.val_check_interval", "2"]
    run_seqlit("fit", *args, "--trainer.max_steps", "3", cwd=tmp_path, env=ENV)
    last = tmp_path / "checkpoints" / "last.ckpt"
    run_seqlit("fit", *args, "--trainer.max_steps", "5", "--trainer.default_root_dir", "elsewhere",
               "--ckpt_path", str(last), cwd=tmp_path, env=ENV)
    assert torch.load(tmp_path / "elsewhere" / "checkpoints" / "last.ckpt", weights_only=True)["global_step"] == 5
    assert torch.load(last, weights_only=True)["global_step"] == 3  # the first run's folder is left as it was


def test_resume_with_the_csv_logger_keeps_the_metrics_with_the_run(tmp_path):
    """CSV logger under a root (seqlit gives it `name: null`): the resumed part appends to the run's own
    metrics.csv, beside its checkpoints; it used to start a new version_1 (and Lightning's writer deletes the
    metrics.csv it finds)."""
    args = [*corpus(tmp_path), "--trainer.logger", "pytorch_lightning.loggers.CSVLogger",
            "--trainer.default_root_dir", "root", "--trainer.log_every_n_steps", "1"]
    run_seqlit("fit", *args, "--trainer.max_steps", "3", cwd=tmp_path, env=ENV)
    (run,) = [p.parent.parent for p in (tmp_path / "root").rglob("last.ckpt")]
    proc = run_seqlit("fit", *args, "--trainer.max_steps", "6", "--ckpt_path", str(run / "checkpoints" / "last.ckpt"),
                      cwd=tmp_path, env=ENV)
    assert "will be deleted" not in proc.stderr
    assert sorted(p.name for p in run.parent.iterdir()) == [run.name], "the resumed part took another version"
    after = list(csv.DictReader(open(run / "metrics.csv")))
    loss_steps = [int(row["step"]) for row in after if row.get("train/loss")]
    assert loss_steps == list(range(6)), loss_steps  # the first run's steps 0-2, then the resumed 3-5
    assert torch.load(run / "checkpoints" / "last.ckpt", weights_only=True)["global_step"] == 6
    rates = [float(row["train/tokens_per_s"]) for row in after if row.get("train/tokens_per_s")]
    assert len(rates) == 2 and min(rates) > 0, rates  # the resumed part's epoch end was 0.0: it went untimed


def test_resume_drops_the_rows_logged_after_the_checkpoint(tmp_path):
    """A run killed after logging steps its last checkpoint does not hold: the resumed run logs those steps again,
    so the rows past the checkpoint's step go, and each step appears once in metrics.csv."""
    args = [*corpus(tmp_path), "--trainer.logger", "pytorch_lightning.loggers.CSVLogger",
            "--trainer.default_root_dir", "root", "--trainer.log_every_n_steps", "1"]
    run_seqlit("fit", *args, "--trainer.max_steps", "3", cwd=tmp_path, env=ENV)
    (run,) = [p.parent.parent for p in (tmp_path / "root").rglob("last.ckpt")]
    metrics = run / "metrics.csv"
    with open(metrics, newline="") as f:
        columns = csv.DictReader(f).fieldnames
    with open(metrics, "a", newline="") as f:  # what the killed run logged past its checkpoint (step 3)
        csv.DictWriter(f, fieldnames=columns).writerows([{"epoch": 0, "step": s, "train/loss": 99.0} for s in (3, 4)])
    run_seqlit("fit", *args, "--trainer.max_steps", "6", "--ckpt_path", str(run / "checkpoints" / "last.ckpt"),
               cwd=tmp_path, env=ENV)
    rows = [row for row in csv.DictReader(open(metrics)) if row.get("train/loss")]
    assert [int(row["step"]) for row in rows] == list(range(6))
    assert all(float(row["train/loss"]) != 99.0 for row in rows)
