"""`last.ckpt` every N training steps, so a long epoch killed half-way loses at most N steps.

It skips the steps that validation or the end of the epoch follows: Lightning, resuming from a checkpoint taken
just before a validation, would skip that validation (which writes `last.ckpt` itself). docs/resume.md.
"""

from __future__ import annotations

from pytorch_lightning.callbacks import ModelCheckpoint


class MidEpochCheckpoint(ModelCheckpoint):
    def __init__(self, every_n_train_steps: int):
        # one `last.ckpt` shared with the default checkpoint (no `last-v1.ckpt`): the newest state wins
        super().__init__(every_n_train_steps=every_n_train_steps, save_top_k=0, save_last=True,
                         enable_version_counter=False)

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx) -> None:
        loop = trainer.fit_loop.epoch_loop
        if loop.batch_progress.is_last_batch or loop._should_check_val_fx(trainer.fit_loop._data_fetcher):
            return
        super().on_train_batch_end(trainer, pl_module, outputs, batch, batch_idx)
