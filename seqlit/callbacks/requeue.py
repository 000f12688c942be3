"""SLURM pre-emption that cannot hang: the hpc checkpoint is written at a training step every rank agrees on.

Lightning's `SLURMEnvironment(auto_requeue=True)` saves the checkpoint from inside its SIGUSR1 handler. Under
DDP that save is collective (a barrier, and seqlit's gather of every rank's random-generator and recurrent
states), and the signal reaches each rank at another point of its step: a rank waiting in the gradient
all-reduce never joins the others' barrier, and the job hangs until its time limit without writing the
checkpoint. Seen on a real SLURM (tests/cluster/test_slurm.py): both ranks blocked in `c10d::Work::wait`.

Here the handler only records the signal. After each training step the ranks agree (one boolean all-reduce:
did any rank get it?) and then together do what Lightning's handler does: save `hpc_ckpt_<n>.ckpt` in
`default_root_dir`, and rank zero runs `scontrol requeue`. A step that validation or the end of the epoch
follows is passed over for the next one, as `MidEpochCheckpoint` does: Lightning, resuming from a checkpoint
taken there, would skip that validation. Installed by the CLI for `fit` whenever the trainer's cluster
environment is a `SLURMEnvironment` with `auto_requeue`; Lightning then leaves the signal to it.
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
