"""A test-only callback that holds training at a given step until the test kills the process.

The kill then lands mid-epoch whatever the machine's load, with no race
between the run and the test's polling. Sleeping draws no random numbers.
"""

from __future__ import annotations

import time

import pytorch_lightning as pl


class HoldAt(pl.Callback):
    def __init__(self, step: int):
        self.step = step

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx) -> None:
        while trainer.global_step >= self.step:
            time.sleep(1.0)
