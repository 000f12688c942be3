"""The first test predictions as a W&B table, beside the test metrics.

A score says how good a model is; a few outputs next to the gold answers say how it fails. Each task says what a
row is (`SeqTask.table_rows`); a task with none (the language models) logs no table. Under DDP: rank zero's share.
"""

from __future__ import annotations

from pytorch_lightning.callbacks import Callback
from pytorch_lightning.loggers import WandbLogger


class TestPredictionsTable(Callback):
    def __init__(self, rows: int = 100):
        self.rows, self._data = rows, []

    def on_test_epoch_start(self, trainer, pl_module) -> None:
        self._data = []

    def on_test_batch_end(self, trainer, pl_module, outputs, batch, batch_idx, dataloader_idx=0) -> None:
        if trainer.is_global_zero and len(self._data) < self.rows:
            self._data += pl_module.table_rows(batch)[: self.rows - len(self._data)]

    def on_test_epoch_end(self, trainer, pl_module) -> None:
        if not trainer.is_global_zero or not self._data:
            return
        columns = list(self._data[0])
        for logger in trainer.loggers:
            if isinstance(logger, WandbLogger):
                logger.log_table("test/predictions", columns=columns, data=[[r[c] for c in columns] for r in self._data])
