"""Test-only callbacks that send this process a real signal at a chosen point, or hold concurrent runs until all
reach one, so a fault lands where the test says whatever the machine's load (no race between the run and the
test's timing)."""

from __future__ import annotations

import os
import signal
import time

import pytorch_lightning as pl


class SignalAt(pl.Callback):
    """Send `signum` (a name: SIGTERM, SIGINT) to this process as training step `step` starts, or as predict
    batch `step` starts (-1: as the sanity check starts, before any training; `in_validation`: see below); `times` of them in a row (2: the
    second must stop the process at once)."""

    def __init__(self, step: int, signum: str = "SIGTERM", times: int = 1, in_validation: bool = False):
        self.step, self.signum, self.times, self.in_validation = step, signal.Signals[signum], times, in_validation

    def _send(self, index: int) -> None:
        if index == self.step:
            for _ in range(self.times):
                os.kill(os.getpid(), self.signum)

    def on_train_batch_start(self, trainer, pl_module, batch, batch_idx) -> None:
        if not self.in_validation:
            self._send(trainer.global_step)

    def on_validation_batch_start(self, trainer, pl_module, batch, batch_idx, dataloader_idx=0) -> None:
        """`in_validation`: as the first batch of the validation after step `step` starts."""
        if self.in_validation and not trainer.sanity_checking and batch_idx == 0:
            self._send(trainer.global_step)

    def on_predict_batch_start(self, trainer, pl_module, batch, batch_idx, dataloader_idx=0) -> None:
        self._send(batch_idx)

    def on_sanity_check_start(self, trainer, pl_module) -> None:
        self._send(-1)


class StartTogether(pl.Callback):
    """Wait, as the callbacks are built (after the imports, before the data checks and the run folder), until
    `parties` processes have reached this point (a file each in `folder`), so that runs started together race for
    their folders within milliseconds whatever the machine's load. Gives up after `timeout_s` (nothing hangs)."""

    def __init__(self, folder: str, parties: int, timeout_s: float = 240.0):
        os.makedirs(folder, exist_ok=True)
        open(os.path.join(folder, f"arrived-{os.getpid()}"), "w").close()
        deadline = time.monotonic() + timeout_s
        while len(os.listdir(folder)) < parties:
            if time.monotonic() > deadline:
                raise TimeoutError(f"only {len(os.listdir(folder))} of {parties} runs reached {folder}")
            time.sleep(0.01)
