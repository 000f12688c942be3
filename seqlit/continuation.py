"""`fit --ckpt_path FILE` continues the run FILE belongs to, rather than starting a new one beside it.

Lightning restores the training state but the logger picks the run's folder, so before anything is
instantiated the logger is given the old run's id (W&B) or version (CSV, TensorBoard); `ContinueRun` carries
the checkpoint callbacks' state over. `check_time_left` refuses a run whose `max_time` is spent. Why:
docs/run_plumbing.md, docs/resume.md.
"""

from __future__ import annotations

import os

from seqlit.errors import SeqlitError

# logger class -> (init arg naming its folder under save_dir, its default, init arg naming the run)
LOGGERS = {
    "WandbLogger": ("project", None, "id"),
    "CSVLogger": ("name", "lightning_logs", "version"),
    "TensorBoardLogger": ("name", "lightning_logs", "version"),
}


def _same(a: str, b: str) -> bool:
    return os.path.realpath(a) == os.path.realpath(b)


def continue_logger(trainer_config, ckpt_path: str) -> str | None:
    """Set the logger of a `fit` resumed from `ckpt_path` to that run's id or version; return the id, or None if the
    logger writes elsewhere (the checkpoints still continue in the checkpoint's folder)."""
    folder = os.path.dirname(os.path.abspath(ckpt_path))
    if os.path.basename(folder) != "checkpoints":
        return None
    run = os.path.dirname(folder)
    loggers = trainer_config.get("logger")
    for logger in loggers if isinstance(loggers, list) else [loggers]:
        class_path = getattr(logger, "class_path", None) if logger is not None else None
        kind = LOGGERS.get(str(class_path).rpartition(".")[2])
        if kind is None:
            continue
        group_arg, group_default, id_arg = kind
        args = logger.init_args
        if args.get("id") is not None or args.get("version") is not None:
            return None  # the user named the run: theirs wins
        group = args.get(group_arg) or group_default or os.environ.get("WANDB_PROJECT", "lightning_logs")
        if not _same(os.path.dirname(run), os.path.join(args.get("save_dir") or ".", group)):
            return None
        args[id_arg] = os.path.basename(run)
        return args[id_arg]
    return None


def check_time_left(ckpt: dict, path: str, max_time_s: float | None) -> None:
    """Refuse to resume (one line, with the fix) when the checkpoint has trained for `max_time_s` already."""
    elapsed = ((ckpt.get("callbacks") or {}).get("Timer") or {}).get("time_elapsed", {}).get("train")
    if max_time_s is None or elapsed is None or elapsed < max_time_s:
        return
    raise SeqlitError(
        f"checkpoint {path!r} has used up its max_time ({fmt(max_time_s)}; it trained {fmt(elapsed)}): resuming would "
        f"train nothing; max_time counts the time already spent, so raise it, e.g. --trainer.max_time "
        f"{fmt(elapsed + max_time_s)} to train as long again"
    )


def fmt(seconds: float) -> str:
    """Seconds as Lightning's max_time string, DD:HH:MM:SS."""
    s = int(round(seconds))
    return f"{s // 86400:02d}:{s % 86400 // 3600:02d}:{s % 3600 // 60:02d}:{s % 60:02d}"
