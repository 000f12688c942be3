"""`--trainer.default_root_dir DIR` holds everything the run writes.

Lightning reads `default_root_dir` only where no logger names a folder; seqlit's default logger (W&B) named
`./runs`, so checkpoints, `config.yaml`, `results.json` and W&B's files went there whatever DIR said. Here,
when DIR is given, the loggers' folders are read from it:

* seqlit's default W&B folder (`runs`, or none given) becomes DIR itself: `DIR/wandb/…` and
  `DIR/seqlit/<run id>/{checkpoints,config.yaml,results.json}`;
* any other relative `save_dir` (a CSV or TensorBoard logger's, say) is read from DIR, not from the working
  directory: `--trainer.logger.save_dir logs` writes `DIR/logs/…`; an absolute one is kept.

Without a logger Lightning already puts everything in DIR. Only local folders: W&B writes through the local
file system, so with a URL (`memory://`, `s3://`) as DIR the loggers' folders are left as given.
"""

from __future__ import annotations

import os

DEFAULT_SAVE_DIR = "runs"  # where seqlit's default logger writes when no default_root_dir is given


def logs_under_root(trainer_config) -> None:
    """Read the loggers' folders from `trainer.default_root_dir` when one is given (in place)."""
    root = trainer_config.get("default_root_dir")
    if not root or "://" in str(root):
        return
    loggers = trainer_config.get("logger")
    for logger in loggers if isinstance(loggers, list) else [loggers]:
        args = getattr(logger, "init_args", None)
        if args is None:
            continue
        save_dir = args.get("save_dir")
        wandb = str(logger.class_path).rpartition(".")[2] == "WandbLogger"
        if wandb and save_dir in (None, DEFAULT_SAVE_DIR):
            args["save_dir"] = str(root)
        elif save_dir is not None and "://" not in str(save_dir) and not os.path.isabs(os.path.expanduser(str(save_dir))):
            args["save_dir"] = os.path.join(str(root), str(save_dir))
