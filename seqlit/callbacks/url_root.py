"""A URL `--trainer.default_root_dir` (file://, memory://, s3://…) holds the run with the W&B logger too.

W&B writes its files through the local file system, so its `save_dir` stays local (seqlit/run_root.py: `runs`,
or `$WANDB_DIR`), and Lightning's checkpoints follow a logger's `save_dir`: a `fit` into `s3://…` wrote its
checkpoints, `config.yaml` and `results.json` to `./runs`, silently, where a cluster node's disk loses them.
Here every checkpoint callback without a `dirpath` of its own writes to `<root>/<project>/<run id>/checkpoints`,
the layout a local root gets, and config.yaml and results.json follow the checkpoints (`seqlit.run_config.run_dir`).
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
