"""`--trainer.default_root_dir DIR` holds everything the run writes.

Lightning reads `default_root_dir` only where no logger names a folder, and seqlit's W&B logger named `./runs`.
Here seqlit's default W&B folder becomes DIR itself and any other relative `save_dir` is read from DIR; with a
URL as DIR, W&B's own files stay local (`wandb_local_dir`) and the run goes under DIR (docs/run_plumbing.md).
"""

from __future__ import annotations

import os
import sys

from seqlit.io.storage import check_root

DEFAULT_SAVE_DIR = "runs"  # where seqlit's default logger writes when no default_root_dir is given


def wandb_local_dir() -> str:
    """Where W&B's own files go when the run's root is a URL: `$WANDB_DIR`, else `runs` (`runs/wandb/…`)."""
    return os.environ.get("WANDB_DIR") or DEFAULT_SAVE_DIR


def keeps_wandb_local(trainer_config) -> bool:
    """A URL root with a W&B logger: its checkpoints need `seqlit.callbacks.url_root.CheckpointsUnderRoot`."""
    root = trainer_config.get("default_root_dir")
    return bool(root) and "://" in str(root) and any(_is_wandb(logger) for logger in _loggers(trainer_config))


def _loggers(trainer_config) -> list:
    loggers = trainer_config.get("logger")
    return [logger for logger in (loggers if isinstance(loggers, list) else [loggers])
            if getattr(logger, "init_args", None) is not None]


def _is_wandb(logger) -> bool:
    return str(logger.class_path).rpartition(".")[2] == "WandbLogger"


def logs_under_root(trainer_config) -> None:
    """Read the loggers' folders from `trainer.default_root_dir` when one is given (in place)."""
    root = trainer_config.get("default_root_dir")
    if not root:
        return
    check_root(root)  # also when a config file set it (the command line's value was checked before the import)
    remote = "://" in str(root)
    for logger in _loggers(trainer_config):
        args = logger.init_args
        save_dir = args.get("save_dir")
        if _is_wandb(logger) and remote and args.get("log_model"):
            args["log_model"] = False  # W&B adds local files only; the checkpoints are kept under the URL root
            print(f"[seqlit] W&B gets no checkpoint artifacts: they stay under {root}", file=sys.stderr)
        if _is_wandb(logger) and save_dir in (None, DEFAULT_SAVE_DIR):
            args["save_dir"] = wandb_local_dir() if remote else str(root)
        elif _is_wandb(logger) and remote:
            continue  # a local folder the user chose for W&B's files
        elif save_dir is not None and "://" not in str(save_dir) and not os.path.isabs(os.path.expanduser(str(save_dir))):
            args["save_dir"] = (f"{str(root).rstrip('/')}/{save_dir}" if remote else os.path.join(str(root), str(save_dir)))
