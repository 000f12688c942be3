"""A test-only callback that holds a SLURM job's first start at a training step, so the test can pre-empt it there.

Each rank writes `<marker>.<rank>` once it is held; the test signals the job when every rank is, so the
signal lands while all of them sleep between the same two steps (Lightning's handler saves the checkpoint
from inside the signal handler, and that save needs every rank). The requeued start (SLURM_RESTART_COUNT ≥ 1)
is not held. Sleeping draws no random numbers.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytorch_lightning as pl


class HoldFirstStart(pl.Callback):
    def __init__(self, step: int, marker: str):
        self.step, self.marker = step, marker

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx) -> None:
        if trainer.global_step < self.step or int(os.environ.get("SLURM_RESTART_COUNT", "0")) > 0:
            return
        Path(f"{self.marker}.{trainer.global_rank}").touch()
        while True:  # until SLURM kills the job after the requeue
            time.sleep(0.5)
