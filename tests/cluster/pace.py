"""A test-only callback that makes a SLURM job's ranks meet the pre-emption signal at different points of a step.

On the job's first start (SLURM_RESTART_COUNT unset or 0), from `step` on, rank 1 sleeps `seconds` before each
training batch, so rank 0 spends that time inside the step's gradient all-reduce, waiting for it. A signal sent
then reaches rank 1 in Python and rank 0 in a collective: the case where a checkpoint saved from the signal
handler (Lightning's) deadlocks. Rank 0 writes `marker` when it reaches `step`, so the test knows when to
signal, and the window stays open for (steps left) × `seconds`. Sleeping draws no random numbers, and the
requeued start is not paced.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytorch_lightning as pl


class PaceRankOne(pl.Callback):
    def __init__(self, step: int, marker: str, seconds: float = 0.3):
        self.step, self.marker, self.seconds = step, marker, seconds

    def on_train_batch_start(self, trainer, pl_module, batch, batch_idx) -> None:
        if trainer.global_step < self.step or int(os.environ.get("SLURM_RESTART_COUNT", "0")) > 0:
            return
        if trainer.global_rank == 0:
            Path(self.marker).touch()
        else:
            time.sleep(self.seconds)
