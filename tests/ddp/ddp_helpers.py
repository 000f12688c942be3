"""What the DDP tests share: the 2-process flags, runs of one subcommand with 1 and 2 processes on one
checkpoint, metrics read back from Lightning's CSV logger, and the checks every task makes.

Every run goes through `python -m seqlit` in a subprocess (tests/conftest.py `run_seqlit`): Lightning's
`ddp` strategy re-launches the command it was started with, which inside pytest would be pytest itself.
"""

from __future__ import annotations

import csv
import glob
import json
import math
from pathlib import Path

import torch

from tests.conftest import run_seqlit

DDP2 = ["--trainer.accelerator", "cpu", "--trainer.devices", "2", "--trainer.strategy", "ddp"]
QUIET = ["--trainer.enable_progress_bar", "false", "--trainer.enable_model_summary", "false"]
# one intra-op thread per process: two processes on a 2-core machine, often shared with other jobs
ONE_THREAD = {"OMP_NUM_THREADS": "1"}


def csv_metrics(folder: Path) -> dict[str, float]:
    """Every metric in the CSV logger's `metrics.csv` under `folder` (the last value of each)."""
    files = glob.glob(str(folder / "**" / "metrics.csv"), recursive=True)
    assert len(files) == 1, f"expected one metrics.csv under {folder}, found {files}"
    rows = list(csv.DictReader(open(files[0])))
    return {k: float(v) for row in rows for k, v in row.items() if v not in ("", None)}


def fit_two_processes(*args: str, cwd: Path, root: str = "two") -> Path:
    """`fit ARGS` with 2 processes, no logger, checkpoints under `cwd/root`; returns `last.ckpt`.

    Also checks that rank zero alone wrote the run's files: one config, no numbered copy from rank 1.
    """
    run_seqlit("fit", *args, *DDP2, *QUIET, "--trainer.logger", "false", "--trainer.default_root_dir", root,
               "--test_after_fit", "false", cwd=cwd, env=ONE_THREAD)
    run = cwd / root
    last = run / "checkpoints" / "last.ckpt"
    assert last.is_file(), sorted(p.name for p in run.rglob("*"))
    configs = sorted(p.name for p in run.glob("config*.yaml"))
    assert configs == ["config.yaml"], f"config written by more than rank zero: {configs}"
    assert not list(run.rglob(".tmp-*")), "a temporary checkpoint file was left behind"
    return last


def resume_in_one_process(last: Path, *args: str, cwd: Path, steps: int, root: str = "one") -> dict:
    """`fit --ckpt_path LAST` in 1 process for `steps` more optimizer steps; returns its last checkpoint."""
    done = torch.load(last, map_location="cpu", weights_only=True)["global_step"]
    run_seqlit("fit", "--ckpt_path", str(last), *args, *QUIET, "--trainer.logger", "false",
               "--trainer.default_root_dir", root, "--trainer.max_steps", str(done + steps),
               "--test_after_fit", "false", cwd=cwd, env=ONE_THREAD)
    ckpt = torch.load(cwd / root / "checkpoints" / "last.ckpt", map_location="cpu", weights_only=True)
    assert ckpt["global_step"] == done + steps, (done, ckpt["global_step"])
    return ckpt


def one_and_two(subcommand: str, ckpt: Path, *args: str, cwd: Path) -> tuple[dict[str, float], dict[str, float]]:
    """Metrics of `SUBCOMMAND --ckpt_path CKPT ARGS` run with 1 process and with 2 (CSV logger)."""
    scores = []
    for n, extra in ((1, []), (2, DDP2)):
        out = cwd / f"{subcommand}-{n}proc"
        run_seqlit(subcommand, "--ckpt_path", str(ckpt), *args, *extra, *QUIET,
                   "--trainer.logger", "pytorch_lightning.loggers.CSVLogger", "--trainer.logger.save_dir", str(out),
                   cwd=cwd, env=ONE_THREAD)
        scores.append(csv_metrics(out))
    return scores[0], scores[1]


def assert_same_metrics(one: dict[str, float], two: dict[str, float], exact: list[str], close: list[str] = (),
                        rel_tol: float = 1e-5) -> None:
    """`exact` metrics (count-based: accuracy, F1, exact match, BLEU) equal to the last bit; `close` ones
    (means of float losses, summed in another order across ranks) to `rel_tol`."""
    for name in [*exact, *close]:
        assert name in one and name in two, f"{name} missing: 1 process logged {sorted(one)}, 2 processes {sorted(two)}"
    for name in exact:
        assert one[name] == two[name], f"{name}: 1 process {one[name]!r}, 2 processes {two[name]!r}"
    for name in close:
        assert math.isclose(one[name], two[name], rel_tol=rel_tol), f"{name}: 1 process {one[name]!r}, 2 processes {two[name]!r}"


def assert_fraction_of(value: float, n: int, name: str) -> None:
    """`value` is k/n for a whole k: the metric counted exactly `n` examples (a duplicate would make it k'/(n+1))."""
    k = value * n
    assert abs(k - round(k)) < 1e-4, f"{name}={value!r} is not a fraction of the {n} examples scored"


def predict_two_processes(ckpt: Path, lines: list[str], *args: str, cwd: Path) -> list[dict]:
    """`predict` with 2 processes on `lines` (one input per line; a blank line gets a "skipped" record).

    Checks that one file was written, holding each line once, in input order; returns the records of the
    non-blank lines.
    """
    source = cwd / "predict_in.txt"
    source.write_text("\n".join(lines) + "\n", encoding="utf-8")
    out = cwd / "predict_out"
    out.mkdir()
    run_seqlit("predict", "--ckpt_path", str(ckpt), "--data.init_args.predict_file", str(source),
               "--predict_output", str(out / "predictions.jsonl"), *args, *DDP2, *QUIET, "--trainer.logger", "false",
               cwd=cwd, env=ONE_THREAD)
    assert sorted(p.name for p in out.iterdir()) == ["predictions.jsonl"], "predict wrote more than one file"
    records = [json.loads(line) for line in (out / "predictions.jsonl").read_text(encoding="utf-8").splitlines()]
    assert [r["index"] for r in records] == list(range(len(lines))), "every input once, in input order"
    assert [r["index"] for r in records if "skipped" in r] == [i for i, line in enumerate(lines) if not line.strip()]
    return [r for r in records if "skipped" not in r]
