"""SIGTERM (or Ctrl-C) during `fit` saves a resumable run; during `predict` it stops at the next batch.

Lightning stops its loops on SIGTERM but exits 0 with no final checkpoint and no results.json. Here, where it
stops, `last.ckpt` is saved (a validation in progress finishes first), results.json says `"interrupted"`, one
line says how to resume, and `seqlit.cli.main` exits 128 + the signal. `predict` keeps the whole lines written
(seqlit/callbacks/predictions.py). Behaviour and tests: docs/resume.md, docs/predict.md.
"""

from __future__ import annotations

import signal

from pytorch_lightning.callbacks import Callback

from seqlit.run import signals
from seqlit.callbacks.run_results import RunResults


class StopOnSignal(Callback):
    def __init__(self):
        self._token = None
        self._after_validation = False

    # -- fit --------------------------------------------------------------------------------------------
    def on_train_start(self, trainer, pl_module) -> None:
        def flag(signum: int) -> None:  # SIGTERM set it already (Lightning's handler runs first); SIGINT too
            trainer._signal_connector.received_sigterm = True

        self._token = signals.defer("training step", flag)

    def on_train_end(self, trainer, pl_module) -> None:
        signals.undefer(self._token)

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx) -> None:
        if trainer.world_size > 1:  # every rank saves at the same step, or the collective save would hang
            trainer._signal_connector.received_sigterm = trainer.strategy.reduce_boolean_decision(
                trainer.received_sigterm, all=False)
        if trainer.received_sigterm and trainer.fit_loop.epoch_loop._should_check_val_fx(trainer.fit_loop._data_fetcher):
            trainer._signal_connector.received_sigterm = False  # until the validation that follows has ended
            self._after_validation = True

    def on_validation_batch_end(self, trainer, pl_module, outputs, batch, batch_idx, dataloader_idx=0) -> None:
        if trainer.state.fn == "fit" and trainer.received_sigterm:
            trainer._signal_connector.received_sigterm = False
            self._after_validation = True

    def on_validation_end(self, trainer, pl_module) -> None:
        if self._after_validation:  # Lightning stops at the end of this step (the checkpoint callbacks run first)
            self._after_validation = False
            trainer._signal_connector.received_sigterm = True

    # -- predict ----------------------------------------------------------------------------------------
    def on_predict_start(self, trainer, pl_module) -> None:
        self._token = signals.defer("batch")

    def on_predict_batch_start(self, trainer, pl_module, batch, batch_idx, dataloader_idx=0) -> None:
        if trainer.received_sigterm or signals.received() is not None:  # Lightning saw SIGTERM; seqlit either
            raise signals.Interrupted(signals.received() or signal.SIGTERM)

    def on_predict_end(self, trainer, pl_module) -> None:
        signals.undefer(self._token)

    # -- either -----------------------------------------------------------------------------------------
    def on_exception(self, trainer, pl_module, exception: BaseException) -> None:
        signals.undefer(self._token)
        signum = signals.received() or (signal.SIGTERM if trainer.received_sigterm else None)
        if signum is None:
            return
        if trainer.state.fn != "fit":  # predict: its writer says what it wrote (seqlit/callbacks/predictions.py)
            return
        if self._token is None:  # the sanity check, or setting up: nothing trained, nothing to save
            signals.say(f"[seqlit] fit stopped by {signals.name(signum)} before training started: nothing was saved")
            return
        last = save_last(trainer)
        for callback in trainer.callbacks:
            if isinstance(callback, RunResults):
                callback.interrupted(trainer, pl_module, "fit", signals.name(signum))
        if last:
            signals.say(f"[seqlit] fit stopped by {signals.name(signum)} at step {trainer.global_step}; to resume, "
                        f"run the same command with --ckpt_path {last}")
        else:
            signals.say(f"[seqlit] fit stopped by {signals.name(signum)} at step {trainer.global_step}; "
                        "no checkpoint callback saves last.ckpt, so nothing was saved to resume from")


def save_last(trainer) -> str | None:
    """Save `last.ckpt` now, unless it holds this step already; its path (None: no callback saves one)."""
    path = None
    for callback in trainer.checkpoint_callbacks:
        if not getattr(callback, "save_last", False):
            continue
        if callback._last_global_step_saved != trainer.global_step or not callback.last_model_path:
            callback._save_last_checkpoint(trainer, callback._monitor_candidates(trainer))
        path = path or callback.last_model_path
    return path
