"""The default checkpoint, and what makes `fit --ckpt_path RUN/checkpoints/last.ckpt` continue that run.

`BestAndLastCheckpoint` writes `best-…ckpt` on an improved validation and `last.ckpt` after every validation
and where training stops (Lightning's `save_last` writes it only with a new best). `ContinueRun` points every
checkpoint callback without a `dirpath` at the resumed checkpoint's folder and hands it that folder's state
(best score and path), with the paths rewritten, so a worse validation after the resume is not "best".
Why: docs/resume.md, "Checkpoints".
"""

from __future__ import annotations

import os

import pytorch_lightning as pl
from pytorch_lightning.callbacks import ModelCheckpoint


class BestAndLastCheckpoint(ModelCheckpoint):
    def on_validation_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        super().on_validation_end(trainer, pl_module)
        if (self.save_last and self._last_global_step_saved != trainer.global_step
                and not self._should_skip_saving_checkpoint(trainer)
                and not self._should_save_on_train_epoch_end(trainer)):
            self._save_last_checkpoint(trainer, self._monitor_candidates(trainer))

    def on_train_batch_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule, outputs, batch, batch_idx) -> None:
        """Training stops mid-epoch after this batch (max_steps, or should_stop without a validation to follow):
        save the position now. Saved at `on_train_end` it would read as a finished epoch, and a resume skip the
        rest of it."""
        super().on_train_batch_end(trainer, pl_module, outputs, batch, batch_idx)
        loop = trainer.fit_loop.epoch_loop
        stops = trainer.should_stop or 0 <= loop.max_steps <= trainer.global_step
        if (self.save_last and stops and not loop.batch_progress.is_last_batch
                and not loop._should_check_val_fx(trainer.fit_loop._data_fetcher)
                and not self._should_skip_saving_checkpoint(trainer)):
            self._save_last_checkpoint(trainer, self._monitor_candidates(trainer))

    def on_train_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        """The last epoch ended without a validation (`check_val_every_n_epoch`, `limit_val_batches: 0`)."""
        if self.save_last and not self._should_skip_saving_checkpoint(trainer):
            self._save_last_checkpoint(trainer, self._monitor_candidates(trainer))

    @property
    def state_key(self) -> str:
        # the key of a plain ModelCheckpoint with these settings: checkpoints written before this class existed
        # (and after) hand their best score to each other
        return super().state_key.replace(type(self).__qualname__, ModelCheckpoint.__qualname__, 1)


def relocate(state: dict, old: str, new: str) -> dict:
    """A ModelCheckpoint state saved in folder `old`, with its paths in folder `new` where the file is there."""
    def move(path):
        if not isinstance(path, str) or os.path.dirname(path) != old.rstrip(os.sep):
            return path
        moved = os.path.join(new, os.path.basename(path))
        return moved if os.path.exists(moved) else path

    out = dict(state, dirpath=new)
    for key in ("best_model_path", "kth_best_model_path", "last_model_path"):
        if key in out:
            out[key] = move(out[key])
    if "best_k_models" in out:
        out["best_k_models"] = {move(path): score for path, score in out["best_k_models"].items()}
    return out


class ContinueRun(pl.Callback):
    """Args: ckpt_path: the checkpoint file this `fit` resumes from; its folder is the run's checkpoint folder."""

    def __init__(self, ckpt_path: str):
        self.folder = os.path.realpath(os.path.dirname(os.path.abspath(ckpt_path)))

    def setup(self, trainer: pl.Trainer, pl_module: pl.LightningModule, stage: str) -> None:
        # runs before the checkpoint callbacks' own setup (Lightning orders them last), which keeps a set dirpath
        for callback in trainer.checkpoint_callbacks:
            if stage == "fit" and callback.dirpath is None:
                callback.dirpath = self.folder

    def on_load_checkpoint(self, trainer: pl.Trainer, pl_module: pl.LightningModule, checkpoint: dict) -> None:
        # called on every callback before any callback's load_state_dict
        states = checkpoint.get("callbacks") or {}
        for callback in trainer.checkpoint_callbacks:
            state = states.get(callback.state_key)
            saved_in = state.get("dirpath") if isinstance(state, dict) else None
            if callback.dirpath == self.folder and saved_in not in (None, self.folder):
                states[callback.state_key] = relocate(state, saved_in, self.folder)
