"""SLURM pre-emption that cannot hang: the hpc checkpoint is written at a training step every rank agrees on.

Lightning's `SLURMEnvironment(auto_requeue=True)` saves from inside its SIGUSR1 handler, and under DDP that save
is collective: a rank caught in the gradient all-reduce never joins the barrier and the job hangs. Here the
handler only records the signal; after each step the ranks agree (one boolean all-reduce), then save
`hpc_ckpt_<n>.ckpt` and requeue together, passing over a step that validation follows. docs/cluster.md.
"""

from __future__ import annotations

import signal
import threading

from lightning_fabric.plugins.environments import SLURMEnvironment
from pytorch_lightning.callbacks import Callback


def requeue_signal(trainer) -> signal.Signals | None:
    """The signal on which this trainer's SLURM environment asks for requeueing, or None."""
    env = trainer._accelerator_connector.cluster_environment
    if isinstance(env, SLURMEnvironment) and env.auto_requeue:
        return env.requeue_signal
    return None


class RequeueAtStepBoundary(Callback):
    def __init__(self):
        self.signalled = False
        self._signum = self._previous = None

    def setup(self, trainer, pl_module, stage: str) -> None:
        # before Lightning registers its handlers (Trainer._run), which it skips for a signal already handled
        self._signum = requeue_signal(trainer)
        if stage == "fit" and self._signum is not None and threading.current_thread() is threading.main_thread():
            self._previous = signal.signal(self._signum, self._record)

    def _record(self, signum, frame) -> None:
        self.signalled = True

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx) -> None:
        if self._previous is None:
            return
        loop = trainer.fit_loop.epoch_loop
        if loop.batch_progress.is_last_batch or loop._should_check_val_fx(trainer.fit_loop._data_fetcher):
            return
        if trainer.strategy.reduce_boolean_decision(self.signalled, all=False):
            self.signalled = False
            trainer._signal_connector._slurm_sigusr_handler_fn(self._signum, None)

    def teardown(self, trainer, pl_module, stage: str) -> None:
        if self._previous is not None:
            signal.signal(self._signum, self._previous)
            self._previous = None
