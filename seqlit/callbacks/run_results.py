"""Every `fit`, `validate` and `test` run leaves `results.json` in its run folder, beside `config.yaml`.

Printed logs are for people; a program that wants a run's outcome (the benchmark runner, a sweep script) reads
this file. It is rewritten when each trainer call completes (a call that raises writes nothing), by global
rank zero only, atomically (`seqlit.io.storage`). Non-finite values are written as JSON's `NaN` / `Infinity`, so
a diverged run says so. An evaluation without a logger appends to its checkpoint's run's `evaluations`.
It names the command and the seqlit commit (with
`dirty`) that ran, so a model card can say how to train the model again. The format, field by field: docs/benchmark.md, "results.json".
"""

from __future__ import annotations

import json
import fcntl
import os
import sys
import time

import pytorch_lightning as pl

from pytorch_lightning.utilities import rank_zero_warn

from seqlit.benchmark.provenance import command_line, source_tree
from seqlit.callbacks.throughput import device_name
from seqlit.cli.evaluation_runs import checkpoint_run
from seqlit.run.config import run_dir
from seqlit.io.storage import write_atomically

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
        # read before the run writes anything, so the run's own files cannot make the tree look dirty
        self.source = {"command": command_line(sys.argv), **source_tree()}

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
            **self.source,
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
