"""What every task module shares: the data spec contract, the monitored metric, the default optimizer.

`data_spec` (vocabulary size, pad id, label names …) is linked from the data
module by the CLI, so sizes are never typed twice; it is stored in the
hyper-parameters, so a checkpoint alone rebuilds the model.
"""

from __future__ import annotations

from typing import Any

import pytorch_lightning as pl
import torch

from seqlit.errors import SeqlitError


class SeqTask(pl.LightningModule):
    """Base class. Subclasses set `monitor` / `monitor_mode` (used by the default checkpointing)."""

    monitor: str = "val/loss"
    monitor_mode: str = "min"
    required_spec: tuple[str, ...] = ()

    def __init__(self, data_spec: dict[str, Any] | None, lr: float, weight_decay: float):
        super().__init__()
        if data_spec is None:
            raise SeqlitError(
                f"{type(self).__name__} needs data_spec (vocabulary size, labels …): "
                "run it through `python -m seqlit` with a data module, which links it"
            )
        missing = [k for k in self.required_spec if k not in data_spec]
        if missing:
            raise SeqlitError(f"{type(self).__name__}: data_spec lacks {', '.join(missing)}: is the data module for this task?")
        if lr <= 0:
            raise SeqlitError(f"model.lr must be positive, got {lr}")
        self.spec = data_spec
        self.lr, self.weight_decay = lr, weight_decay

    def configure_optimizers(self):
        """AdamW unless the config gives `optimizer:` (LightningCLI then replaces this method)."""
        return torch.optim.AdamW(self.parameters(), lr=self.lr, weight_decay=self.weight_decay)
