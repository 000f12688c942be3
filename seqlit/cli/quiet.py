"""Keep the libraries' notes that do not concern a seqlit user off the terminal (`SEQLIT_DEBUG=1` shows them all).

Each is silenced for a reason, given beside it; anything else still shows, so a warning that matters is seen.
"""

from __future__ import annotations

import logging
import os
import re
import warnings

# (message regex, the subcommands it is silenced in, or None for all), each with why it does not concern the user
WARNINGS = [
    # Lightning's own use of a torch API it has yet to update: nothing a user can change
    (r".*isinstance\(treespec, LeafSpec\)` is deprecated", None),
    # seqlit's samplers return every index at evaluation (tests/cli/test_predict_output.py: one record per line)
    (r"You are using a custom batch sampler `(BucketBatchSampler|BPTTSampler)`", None),
    # the callbacks it names (NumericalGuard, Timer, …) act only while training
    (r"Be aware that when using `ckpt_path`, callbacks used to create the checkpoint", ("validate", "test", "predict")),
    # evaluation writes no checkpoint, so where checkpoints would go does not matter
    (r"The dirpath has changed from", ("validate", "test", "predict")),
    # evaluation draws nothing at random (dropout off, data in file order): the seed cannot change its result
    (r"No seed found, seed set to", ("validate", "test", "predict")),
]
# a resumed run writes into its own checkpoint folder (seqlit/run/continuation.py): of course it is not empty
RESUMING = [(r"Checkpoint directory .* exists and is not empty", ("fit",)),
            # the CSV logger continues the run's metrics.csv (continuation.keep_metrics): nothing is deleted
            (r"Experiment logs directory .* exists and is not empty", ("fit",)),
            # Lightning's Timer exists only while `trainer.max_time` is set; seqlit/run/continuation.py reads the
            # checkpoint's spent time itself (check_time_left), so a resume without max_time loses nothing
            (r"Be aware that when using `ckpt_path`.* Please add the following callbacks: \['Timer'\]\.$", ("fit",))]
# a run of one process needs no `srun`: the hint (Lightning's, on any machine where SLURM is installed, at every
# command) is against multi-process jobs that hang without it, so those still get it
ONE_PROCESS = [(r"The `srun` command is available on your system but is not used", None)]
# Lightning's log lines that are advertisements, not information about the run, or that say again what seqlit's
# own line says better (a signal: seqlit/run/signals.py names it and what the run does about it)
LOG_LINES = re.compile(r"💡 Tip: For seamless cloud logging|(\[rank: \d+\] )?Received SIGTERM: ")
LOGGERS = ("lightning_fabric.utilities.rank_zero", "pytorch_lightning.utilities.rank_zero",
           "pytorch_lightning.trainer.connectors.signal_connector")


class _DropLines(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        return not LOG_LINES.match(str(record.msg))


def debugging() -> bool:
    return os.environ.get("SEQLIT_DEBUG") == "1"


def quiet(subcommand: str | None, resuming: bool = False, one_process: bool = False) -> None:
    """Install the filters for this command (nothing under SEQLIT_DEBUG=1)."""
    if debugging():
        return
    for message, where in WARNINGS + (RESUMING if resuming else []) + (ONE_PROCESS if one_process else []):
        if where is None or subcommand in where:
            warnings.filterwarnings("ignore", message=message)
    # datasets' "Generating train split" bars: seqlit's data modules count what they read in one line of their own
    import datasets

    datasets.disable_progress_bars()
    for name in LOGGERS:
        log = logging.getLogger(name)
        if not any(isinstance(f, _DropLines) for f in log.filters):
            log.addFilter(_DropLines())


def quiet_wandb(loggers) -> None:
    """Before W&B starts: two warnings of wandb's that come from Lightning's defaults, fixed at the source.

    `anonymous` is left out when None (wandb 0.31 warns whatever its value), and the run's folder is created first
    (wandb warns "git root runs does not exist"). docs/run_plumbing.md.
    """
    if debugging():
        return
    from pytorch_lightning.loggers import WandbLogger

    for logger in loggers:
        if isinstance(logger, WandbLogger) and logger._experiment is None:
            if logger._wandb_init.get("anonymous") is None:
                logger._wandb_init.pop("anonymous", None)
            if logger.save_dir:
                os.makedirs(logger.save_dir, exist_ok=True)
