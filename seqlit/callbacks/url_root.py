"""A URL `--trainer.default_root_dir` (file://, memory://, s3://…) holds the run with the W&B logger too.

W&B keeps its `save_dir` local and Lightning's checkpoints follow a logger's `save_dir`, so without this a
`fit` into `s3://…` wrote its checkpoints and results to `./runs`, silently. Here checkpoint callbacks without
a `dirpath` write to `<root>/<project>/<run id>/checkpoints`, the local layout (docs/cluster.md).
"""

from __future__ import annotations

import pytorch_lightning as pl


class CheckpointsUnderRoot(pl.Callback):
    def __init__(self, root: str):
        self.root = root.rstrip("/")

    def setup(self, trainer: pl.Trainer, pl_module: pl.LightningModule, stage: str) -> None:
        # before the checkpoint callbacks' own setup (Lightning orders them last), which keeps a set dirpath
        if stage != "fit" or not trainer.loggers:
            return
        logger = trainer.loggers[0]
        folder = trainer.strategy.broadcast(f"{self.root}/{logger.name}/{logger.version}/checkpoints")
        for callback in trainer.checkpoint_callbacks:
            if callback.dirpath is None:
                callback.dirpath = folder
