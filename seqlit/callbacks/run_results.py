"""Every `fit`, `validate` and `test` run leaves `results.json` in its run folder, beside `config.yaml`.

Printed logs are for people; a program that wants a run's outcome (the
benchmark runner, a sweep script) reads this file instead of scraping them:

    {"status": "finished",                           # or "interrupted" (with "signal": "SIGTERM") when a signal stopped fit
     "stages": ["fit", "test"],                      # trainer calls of this process, in order
     "metrics": {"val/bpc": 4.51, "test/bpc": 4.50, "train/tokens_per_s": 61883.0, ...},   # final values
     "tokens_per_s": 61883.0,                        # training throughput (the Throughput callback), or null
     "best_checkpoint": ".../checkpoints/best-epoch=0-step=30.ckpt",   # or null
     "ckpt_path": null,                              # the checkpoint the last stage loaded, if any
     "tested": ".../best-epoch=0-step=30.ckpt",       # what a test in this process scored: a checkpoint,
                                                     # "final weights" (no best checkpoint yet), or null: no test
     "model": {"task": "LanguageModel", "backbone": {...}, "params": 24249},   # SeqTask.describe()
     "device": "cpu: 1 threads, torch 2.13.0+cpu", "global_step": 30, "epoch": 0,
     "validation": [{"step": 15, "time_s": 3.1, "metrics": {"val/bpc": 4.7, ...}}, ...]}

`validation` is every validation pass of `fit` (not the sanity check), with
the seconds since fit started: what time to a quality target is read from.
The file is rewritten when each trainer call completes (its teardown; a
call that raises writes nothing, so a crashed run leaves no results), so
`fit --test_after_fit true` ends with the fit's and the test's metrics in it;
a later stage's value of a metric replaces an earlier one. It is written by
global rank zero only, atomically (`seqlit.storage`: a temporary file renamed
over it, or an fsspec transaction when the run folder is a URL: a reader never
sees half a file), with the user's umask; local checkpoint paths are absolute. Non-finite values are written
as JSON's `NaN` / `Infinity` extensions, which Python's `json` reads back, so a
diverged run says so instead of dropping the figure. An evaluation without a
logger (the default: seqlit/evaluation_runs.py) has no run folder of its own: when its
checkpoint lies in a run folder it appends `{"stage", "ckpt_path", "metrics", "device", "time"}`
to that run's `evaluations` list, and writes nothing otherwise.
"""

from __future__ import annotations

import json
import fcntl
import os
import time

import pytorch_lightning as pl

from pytorch_lightning.utilities import rank_zero_warn

from seqlit.callbacks.throughput import device_name
from seqlit.evaluation_runs import checkpoint_run
from seqlit.run_config import run_dir
from seqlit.storage import write_atomically

FILENAME = "results.json"


def _floats(metrics) -> dict[str, float]:
    """Lightning's callback metrics (tensors) as plain floats, sorted by name."""
    return {k: float(v) for k, v in sorted(metrics.items())}


def _absolute(path: str) -> str:
    """A local path made absolute; an fsspec URL (`memory://…`, `s3://…`) as it is."""
    return path if "://" in path else os.path.abspath(path)


class RunResults(pl.Callback):
    """Collect a run's outcome and write it to `<run folder>/results.json` when each trainer call ends."""

    def __init__(self):
        self.stages: list[str] = []
        self.metrics: dict[str, float] = {}
        self.validation: list[dict] = []
        self._fit_start: float | None = None

    def on_fit_start(self, trainer, pl_module) -> None:
        self._fit_start = time.perf_counter()

    def on_validation_end(self, trainer, pl_module) -> None:
        if trainer.sanity_checking or self._fit_start is None or trainer.state.fn != "fit":
            return
        self.validation.append({"step": trainer.global_step,
                                "time_s": round(time.perf_counter() - self._fit_start, 3),
                                "metrics": {k: v for k, v in _floats(trainer.callback_metrics).items()
                                            if k.startswith("val/")}})

    def teardown(self, trainer, pl_module, stage: str) -> None:
        if stage not in ("fit", "validate", "test"):
            return
        self.stages.append(stage)
        self.metrics.update(_floats(trainer.callback_metrics))
        if not trainer.is_global_zero:
            return
        if stage != "fit" and trainer.logger is None:
            run = checkpoint_run(trainer.ckpt_path)
            if run is not None:
                self.add_evaluation(run, trainer, pl_module, stage)
            return
        self.write_results(trainer, pl_module)

    def interrupted(self, trainer, pl_module, stage: str, signal_name: str) -> None:
        """A signal stopped `stage` (seqlit/callbacks/interrupt.py), which then has no teardown: write
        results.json now, with `"status": "interrupted"` and the signal."""
        self.stages.append(stage)
        self.metrics.update(_floats(trainer.callback_metrics))
        if trainer.is_global_zero:
            self.write_results(trainer, pl_module, status="interrupted", signal=signal_name)

    def write_results(self, trainer, pl_module, status: str = "finished", **extra) -> None:
        folder = run_dir(trainer)
        best = trainer.checkpoint_callback.best_model_path if trainer.checkpoint_callback else ""
        results = {
            "status": status,
            **extra,
            "stages": self.stages,
            "metrics": self.metrics,
            "tokens_per_s": self.metrics.get("train/tokens_per_s"),
            "best_checkpoint": _absolute(best) if best else None,
            "ckpt_path": _absolute(trainer.ckpt_path) if trainer.ckpt_path else None,
            "tested": self.tested(trainer) if "test" in self.stages else None,
            "model": pl_module.describe() if hasattr(pl_module, "describe") else {"task": type(pl_module).__name__},
            "device": device_name(pl_module.device),
            "global_step": trainer.global_step,
            "epoch": trainer.current_epoch,
            "validation": self.validation,
        }
        text = json.dumps(results, indent=2) + "\n"
        write_atomically(os.path.join(folder, FILENAME), lambda f: f.write(text.encode("utf-8")))

    @staticmethod
    def tested(trainer) -> str:
        """Which weights the test scored: a checkpoint, or "final weights" (test_after_fit with no best checkpoint)."""
        return _absolute(trainer.ckpt_path) if trainer.ckpt_path else "final weights"

    @staticmethod
    def add_evaluation(run: str, trainer, pl_module, stage: str) -> None:
        """Append this evaluation of one of `run`'s checkpoints to `run`'s results.json (`evaluations`)."""
        path = os.path.join(run, FILENAME)
        entry = {
            "stage": stage, "ckpt_path": _absolute(trainer.ckpt_path), "metrics": _floats(trainer.callback_metrics),
            "device": device_name(pl_module.device), "time": time.strftime("%Y-%m-%dT%H:%M:%S%z")}
        append_evaluation(path, entry, stage)


def append_evaluation(path: str, entry: dict, stage: str) -> None:
    """Add `entry` to `path`'s `evaluations` under an exclusive flock on the run folder itself: evaluations of
    one run's checkpoints may run at the same time, and a read-modify-write without a lock loses updates. The
    folder is locked rather than a sibling `.lock` file so that the run folder holds no extra file."""
    folder = os.open(os.path.dirname(os.path.abspath(path)), os.O_RDONLY)
    try:
        fcntl.flock(folder, fcntl.LOCK_EX)
        _append_locked(path, entry, stage)
    finally:
        os.close(folder)  # closing the descriptor releases the lock


def _append_locked(path: str, entry: dict, stage: str) -> None:
    results = {}
    if os.path.isfile(path):
        try:
            with open(path, encoding="utf-8") as f:
                results = json.load(f)
        except ValueError:
            rank_zero_warn(f"[seqlit] {path} is not JSON: this {stage}'s results are not added to it")
            return
    results.setdefault("evaluations", []).append(entry)
    text = json.dumps(results, indent=2) + "\n"
    write_atomically(path, lambda f: f.write(text.encode("utf-8")))
