"""`fit --ckpt_path FILE` continues the run FILE belongs to, rather than starting a new one beside it.

Lightning restores the training state but the logger picks the run's folder, so before anything is
instantiated the logger is given the old run's id (W&B) or version (CSV, TensorBoard); `ContinueRun` carries
the checkpoint callbacks' state over. `check_time_left` refuses a run whose `max_time` is spent. Why:
docs/run_plumbing.md, docs/resume.md.
A CSV logger's run folder is `<save_dir>/version_N` (`name: null`); Lightning's writer deletes the `metrics.csv` it
finds, so `keep_metrics` sets it aside while the writer starts and the resumed rows join the run's own file; rows
a killed run logged after its last checkpoint are dropped, since the resumed run logs those steps again.
"""

from __future__ import annotations

import csv
import io
import os

from lightning_fabric.utilities.cloud_io import get_filesystem
from pytorch_lightning.loggers import CSVLogger
from pytorch_lightning.loggers.csv_logs import ExperimentWriter
from pytorch_lightning.utilities import rank_zero_only

from seqlit.errors import SeqlitError
from seqlit.io.storage import write_atomically

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
        if group_default is None:  # W&B: no project means $WANDB_PROJECT, else Lightning's default
            group = args.get(group_arg) or os.environ.get("WANDB_PROJECT", "lightning_logs")
        else:  # CSV / TensorBoard: a name of null or "" puts the versions straight under save_dir
            group = args.get(group_arg, group_default) or ""
        if not _same(os.path.dirname(run), os.path.join(args.get("save_dir") or ".", group)):
            return None
        args[id_arg] = os.path.basename(run)
        return args[id_arg]
    return None


def keep_metrics(loggers, step: int) -> None:
    """Start each CSV logger of a resumed run with its run's `metrics.csv` in place (Lightning's writer would
    delete it): the file is moved aside while the writer starts, then back, and the writer is told its columns, so
new rows are appended to it (under a new header when a new column comes). Rows at `step` (the checkpoint's
    global step) or later were logged after the checkpoint by a run that then died: they are dropped.
    Rank zero only: the other ranks' writers are dummies that touch no file."""
    if rank_zero_only.rank != 0:
        return
    for logger in loggers:
        if not isinstance(logger, CSVLogger) or logger._experiment is not None or logger._version is None:
            continue
        folder = str(logger.log_dir).rstrip("/")
        fs = get_filesystem(folder)
        path, aside = f"{folder}/{ExperimentWriter.NAME_METRICS_FILE}", f"{folder}/.resumed-{ExperimentWriter.NAME_METRICS_FILE}"
        kept = fs.isfile(path)
        if kept:
            fs.mv(path, aside)
        writer = logger.experiment  # the writer starts here, finding no file to delete
        if kept:
            fs.mv(aside, path)
            writer.metrics_keys = drop_rows_from(fs, path, step)  # a new column then rewrites the file whole


def drop_rows_from(fs, path: str, step: int) -> list[str]:
    """Remove the rows of the metrics file `path` logged at `step` or later (atomically, only if there are any);
    return its columns."""
    with fs.open(path, "r", newline="") as f:
        reader = csv.DictReader(f)
        rows = list(reader)
        columns = list(reader.fieldnames or [])
    kept = [row for row in rows if not row.get("step") or int(float(row["step"])) < step]
    if len(kept) < len(rows):
        text = io.StringIO(newline="")
        out = csv.DictWriter(text, fieldnames=columns)
        out.writeheader()
        out.writerows(kept)
        write_atomically(path, lambda f: f.write(text.getvalue().encode()))
    return sorted(columns)


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
