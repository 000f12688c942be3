"""The trainer commands of `python -m seqlit`: fit, validate, test, predict (the entry point is seqlit/cli/main.py).

LightningCLI does the work (composed configs, dotted overrides, subclass mode); seqlit adds `data_spec`
linking, `--ckpt_path` alone rebuilding model and data, `fit --ckpt_path` continuing its run, defaults that
suit a real run, `--test_after_fit`, results.json and one-line errors. The list in full:
docs/run_plumbing.md.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import sys
import tempfile

from typing import Optional

import torch
import yaml
from pytorch_lightning.callbacks import (LearningRateMonitor, ModelCheckpoint, ProgressBar, RichProgressBar, Timer,
                                         WeightAveraging)
from pytorch_lightning.cli import LightningArgumentParser, LightningCLI
from pytorch_lightning.loggers import Logger, WandbLogger
from pytorch_lightning.plugins.io import CheckpointIO

from data_modules.base import SeqDataModule
from seqlit.callbacks.checkpoints import BestAndLastCheckpoint, ContinueRun
from seqlit.callbacks.interrupt import StopOnSignal
from seqlit.callbacks.mid_epoch_checkpoint import MidEpochCheckpoint
from seqlit.callbacks.numerical_guard import NumericalGuard
from seqlit.callbacks.predictions import JsonlPredictionWriter
from seqlit.callbacks.requeue import RequeueAtStepBoundary
from seqlit.callbacks.run_results import RunResults
from seqlit.callbacks.test_table import TestPredictionsTable
from seqlit.callbacks.throughput import Throughput
from seqlit.callbacks.url_root import CheckpointsUnderRoot
from seqlit.io.checkpoints import SafeCheckpointIO, check_fits, load_checkpoint, stored_config
from seqlit.cli.config_errors import nonpositive_count
from seqlit.run.continuation import check_time_left, continue_logger, keep_metrics
from seqlit.errors import SeqlitError
from seqlit.cli.evaluation_runs import no_logger_unless_asked
from seqlit.cli.long_work import check_predict_file, check_window
from seqlit.run.precision import check_precision
from seqlit.io.predict_output import check_output, predict_inputs
from seqlit.cli.prechecks import CKPT_ALIASES, TRAINER_SUBCOMMANDS, check_ckpt_path, option_values
from seqlit.cli.quiet import quiet, quiet_wandb
from seqlit.run.claim import claim_version
from seqlit.run.config import RunConfigSaver
from seqlit.run.settings import StoreRunSettings, stored_settings
from seqlit.seeds import check_seed
from seqlit.run.root import DEFAULT_SAVE_DIR, keeps_wandb_local, logs_under_root
from seqlit.tasks.base import SeqTask
from seqlit.run.wandb_online import offline_as_mode, offline_unless_reachable

class SeqlitCLI(LightningCLI):
    def __init__(self, *args, results=None, **kwargs):
        """`results`: the stream `predict` writes its records (or their readable view) to; see `results_stdout`."""
        self.results = results
        super().__init__(*args, **kwargs)

    def add_arguments_to_parser(self, parser: LightningArgumentParser) -> None:
        parser.link_arguments("data.data_spec", "model.init_args.data_spec", apply_on="instantiate")
        parser.add_argument("--test_after_fit", type=bool, default=False,
                            help="After fit, run test on the best checkpoint.")
        parser.add_argument("--num_threads", type=Optional[int], default=None,
                            help="torch intra-op CPU threads (default: torch's choice). 1 is safest on a "
                                 "small shared CPU: spinning OpenMP threads slow down ten-fold when a core is busy.")
        parser.add_argument("--checkpoint_every_n_steps", type=Optional[int], default=None,
                            help="fit: also save last.ckpt every N training steps, mid-epoch (resume with --ckpt_path last).")
        parser.add_argument("--check_memory", type=bool, default=True,
                            help="refuse a predict line or a training window (bptt) whose rough memory estimate "
                                 "exceeds the device's (false: try anyway)")
        parser.add_argument("--predict_output", type=str, default="-",
                            help="predict: JSON-lines file for the predictions, the first of them also shown "
                                 "readably ('-': the JSON lines on standard output, and nothing else there).")
        parser.add_argument("--overwrite", type=bool, default=False,
                            help="predict: replace an existing --predict_output file (refused otherwise)")

    def _set_seed(self) -> None:
        quiet(self.subcommand, resuming=self._continues_run(),  # before seeding, which warns when no seed is given
              one_process=self._one_process())
        seed = self._get(self.config, "seed_everything")
        if seed not in (None, True, False):  # out of range, Lightning warns and picks a random seed instead
            check_seed(seed, "--seed_everything")
        super()._set_seed()

    def _one_process(self) -> bool:
        """The trainer runs as a single process: one node, and one device (or at most one GPU to choose from)."""
        trainer = self._get(self.config, "trainer")
        devices = str(trainer.get("devices", "auto"))
        single = devices in ("1", "[0]") or (devices == "auto" and torch.cuda.device_count() <= 1)
        return single and trainer.get("num_nodes", 1) == 1

    def before_instantiate_classes(self) -> None:
        threads = self._get(self.config, "num_threads")
        if threads is not None:
            if threads < 1:
                raise SeqlitError(f"num_threads must be a positive number, got {threads}")
            torch.set_num_threads(threads)
        config = self.config[self.subcommand] if self.subcommand else self.config
        if self.subcommand == "predict":
            check_output(config.predict_output, predict_inputs(config), config.overwrite, self.results)
        problem = nonpositive_count(config)
        if problem:
            raise SeqlitError(problem)
        no_logger_unless_asked(self.subcommand, config.trainer, sys.argv[1:])
        self._url_root = str(config.trainer.default_root_dir) if keeps_wandb_local(config.trainer) else None
        offline_as_mode(config.trainer)
        logs_under_root(config.trainer)  # before continue_logger, which finds the run's folder under the logger's
        if self._continues_run():
            continue_logger(config.trainer, config.ckpt_path)

    def _continues_run(self) -> bool:
        """`fit --ckpt_path FILE`: the run FILE belongs to is continued (seqlit/run/continuation.py), unless the
        command sends this run elsewhere (a `trainer.default_root_dir` that does not hold FILE)."""
        path = self._get(self.config, "ckpt_path") if self.subcommand == "fit" else None
        if not path or not os.path.isfile(path):
            return False
        root = self._get(self.config, "trainer").get("default_root_dir")
        return root is None or not os.path.relpath(os.path.realpath(path), os.path.realpath(root)).startswith("..")

    def check_data(self) -> None:
        """Before the trainer starts writing (logs, config, checkpoints): read and check all the data the
        command uses, and that the checkpoint given (if any) fits the model and the data."""
        if isinstance(self.datamodule, SeqDataModule):
            self.datamodule.check(self.subcommand)
            if self.subcommand == "fit" and self.config.fit.test_after_fit:
                self.datamodule.check("test")  # the test split too: its errors must not wait for the whole budget
        path = self._get(self.config, "ckpt_path")
        if path == "last":
            self._check_last_exists()
        if path and os.path.isfile(path):
            ckpt = load_checkpoint(path)
            check_fits(ckpt, path, self.model, self.datamodule)
            if self.subcommand == "fit":
                self._resume_step = ckpt.get("global_step", 0)  # keep_metrics drops the rows logged past it
                timer = next((c for c in self.trainer.callbacks if isinstance(c, Timer)), None)  # set by max_time
                check_time_left(ckpt, path, timer._duration if timer is not None else None)  # seconds, or None

    def _check_last_exists(self) -> None:
        """`--ckpt_path last` where the run's checkpoint folder holds none: Lightning would only warn (with a hint
        about `save_last`, which seqlit sets) and start afresh, or evaluate untrained weights. A new run's folder is
        new, so `last` finds something only under a fixed `dirpath`: the run's own file is what resumes it."""
        callbacks = [c for c in self.trainer.checkpoint_callbacks if isinstance(c, ModelCheckpoint)]
        if any(c._find_last_checkpoints(self.trainer) for c in callbacks):
            return
        raise SeqlitError("--ckpt_path last: no last checkpoint to resume (a new run's folder holds none): to "
                          "continue a run pass its file, e.g. --ckpt_path runs/seqlit/<run>/checkpoints/last.ckpt "
                          "(or leave --ckpt_path out to start afresh)")

    def before_run(self) -> None:
        self.check_data()
        device = self.trainer.strategy.root_device
        check_precision(self.trainer.precision, self.model, device)
        check_memory = self._get(self.config, "check_memory")
        if self.subcommand == "predict":
            if self.config_init.predict.get("return_predictions") is None:  # Lightning would keep every record
                self.config_init.predict["return_predictions"] = False
            check_predict_file(getattr(self.datamodule, "predict_file", None), self.model, device, check_memory)
        if self.subcommand == "fit":
            check_window(self.datamodule, self.model, device, check_memory)
        if self.subcommand != "predict":  # after the checks, so that bad input leaves no empty folder
            claim_version(self.trainer)
        if self._continues_run():
            keep_metrics(self.trainer.loggers, self._resume_step)  # the run's metrics.csv goes on, not replaced
        quiet_wandb(self.trainer.loggers)
        offline_unless_reachable(self.trainer.loggers)

    before_fit = before_validate = before_test = before_predict = before_run

    def _parse_ckpt_path(self) -> None:
        """Replaced by `checkpoint_config`, which runs before parsing so that later arguments win."""

    def _instantiate_trainer(self, config, callbacks):
        if not any(isinstance(c, ModelCheckpoint) for c in callbacks + list(config.get("callbacks") or [])):
            callbacks.append(BestAndLastCheckpoint(monitor=self.model.monitor, mode=self.model.monitor_mode,
                                                   filename="best-{epoch}-{step}", save_last=True,
                                                   enable_version_counter=False))
        if self._continues_run():
            callbacks.append(ContinueRun(self._get(self.config, "ckpt_path")))
        elif self._url_root:  # checkpoints under the URL root, not beside W&B's local files
            callbacks.append(CheckpointsUnderRoot(self._url_root))
        every = self._get(self.config, "checkpoint_every_n_steps")
        if self.subcommand == "fit" and every is not None:
            if every < 1:
                raise SeqlitError(f"checkpoint_every_n_steps must be a positive number, got {every}")
            callbacks.append(MidEpochCheckpoint(every))
        if config.get("enable_progress_bar") is not False and not any(isinstance(c, ProgressBar) for c in callbacks):
            callbacks.append(RichProgressBar(leave=True))
        if self.subcommand == "fit" and not any(isinstance(c, NumericalGuard) for c in callbacks + list(config.get("callbacks") or [])):
            callbacks.append(NumericalGuard())
        given = callbacks + list(config.get("callbacks") or [])
        if self.subcommand in ("fit", "validate", "test") and not any(isinstance(c, RunResults) for c in given):
            callbacks.append(RunResults())  # results.json in the run folder: what the benchmark reads
        if self.subcommand == "fit" and not any(isinstance(c, Throughput) for c in given):
            callbacks.append(Throughput())  # results.json's tokens_per_s, the README's throughput figure
        if self.subcommand == "fit":  # SLURM pre-emption saves at a step all ranks agree on (a no-op elsewhere)
            callbacks.append(RequeueAtStepBoundary())
            callbacks.append(StoreRunSettings(self.config.fit))  # what validate/test/predict bring back
        if self.subcommand in ("fit", "predict"):  # SIGTERM / Ctrl-C: a resumable fit, a predict that stops
            callbacks.append(StopOnSignal())
        loggers = config.get("logger")
        loggers = loggers if isinstance(loggers, list) else [loggers]
        if self.subcommand == "fit" and any(isinstance(lg, Logger) for lg in loggers) and \
                not any(isinstance(c, LearningRateMonitor) for c in given):
            callbacks.append(LearningRateMonitor())  # the schedule beside the loss it shapes
        if self.subcommand in ("fit", "test") and any(isinstance(lg, WandbLogger) for lg in loggers):
            callbacks.append(TestPredictionsTable())  # test/predictions: the first test outputs beside the scores
        if self.subcommand == "predict":
            callbacks.append(JsonlPredictionWriter(self.config.predict.predict_output, self.results))
        plugins = config.get("plugins") or []
        plugins = plugins if isinstance(plugins, list) else [plugins]
        if not any(isinstance(p, CheckpointIO) for p in plugins):
            config["plugins"] = [*plugins, SafeCheckpointIO()]
        return super()._instantiate_trainer(config, callbacks)

    def after_fit(self) -> None:
        best = self.trainer.checkpoint_callback.best_model_path if self.trainer.checkpoint_callback else ""
        if best:
            print(f"[seqlit] best checkpoint: {best}")
        if self.config.fit.test_after_fit:
            # A weight-averaging callback that has trained reloads the raw weights ("current_model_state") when a
            # checkpoint is restored, for resuming; the test must see the averaged ones, the checkpoint's state_dict,
            # as a fresh `test --ckpt_path` does.
            self.trainer.callbacks = [c for c in self.trainer.callbacks if not isinstance(c, WeightAveraging)]
            if not best:  # no validation ran (a fit shorter than one epoch, or val_check_interval beyond it)
                print("[seqlit] test_after_fit: no best checkpoint (no validation ran): testing the final weights",
                      file=sys.stderr)
            # the path itself, not "best": Lightning would warn that it picks the first of several ModelCheckpoints
            # (seqlit's own MidEpochCheckpoint is one), which is the one that wrote `best`
            self.trainer.test(self.model, datamodule=self.datamodule, ckpt_path=best or None)


def trainer_defaults() -> dict:
    """The trainer settings seqlit changes: W&B logging (offline unless WANDB_MODE says otherwise: `main` sets
    it to offline unless the user chose; the mode is written out so that `--print_config` shows it) with the best
    and last checkpoints as the run's model artifacts (`log_model`, uploaded by `wandb sync` for offline runs), and no
    distributed sampler, since seqlit's samplers shard data across ranks themselves (bucketed batches, LM streams).
    """
    offline = os.environ.get("WANDB_MODE", "offline") in ("offline", "dryrun")
    return {"logger": {"class_path": "pytorch_lightning.loggers.WandbLogger",
                       "init_args": {"save_dir": DEFAULT_SAVE_DIR, "project": "seqlit",
                                     "mode": "offline" if offline else "online", "log_model": True}},
            "use_distributed_sampler": False}


TRAINER_DEFAULTS = trainer_defaults()  # as the environment stood at import (tests build parsers from it)


def checkpoint_config(argv: list[str]) -> list[str]:
    """If `--ckpt_path` names a checkpoint, put its model and data config first in `argv`.

    The model's `data_spec` is left out (the data module re-links it, and a mismatch then fails loudly), and the
    data module is told to take its vocabulary from the checkpoint.
    """
    if not argv or argv[0] not in TRAINER_SUBCOMMANDS:
        return argv
    given = option_values(argv, "--ckpt_path")
    path = given[-1] if given else None
    if not path or path in CKPT_ALIASES:
        return argv
    check_ckpt_path(path)
    ckpt = load_checkpoint(path)
    config = stored_config(ckpt, path)
    if "data" in config:
        config["data"]["init_args"]["vocab_from"] = path
    config.update(stored_settings(ckpt, path))  # first in argv: the command line still overrides them
    if not config:
        return argv
    fd, tmp = tempfile.mkstemp(prefix="seqlit-ckpt-", suffix=".yaml")
    with os.fdopen(fd, "w") as f:
        yaml.safe_dump(config, f)
    atexit.register(lambda: os.path.exists(tmp) and os.remove(tmp))
    return [argv[0], "--config", tmp, *argv[1:]]


@contextlib.contextmanager
def results_stdout():
    """Keep standard output for the command's results: yield a stream on it, and send everything else written
    to file descriptor 1 meanwhile (progress bar, Lightning's and W&B's lines, from any library) to stderr.

    W&B prints its closing lines when the run finishes, at exit by default: it is finished here, while they
    still go to stderr.
    """
    sys.stdout.flush()
    saved = os.dup(1)
    results = os.fdopen(os.dup(1), "w", encoding="utf-8")
    os.dup2(2, 1)
    try:
        yield results
    finally:
        wandb = sys.modules.get("wandb")
        if wandb is not None and wandb.run is not None:
            wandb.finish()
        results.close()
        sys.stdout.flush()
        os.dup2(saved, 1)
        os.close(saved)


def run_cli(argv: list[str]) -> None:
    """A trainer command (fit, validate, test, predict) through LightningCLI."""
    # LightningCLI reads sys.argv (and warns if given `args` too): hand it the rewritten list there
    sys.argv = [sys.argv[0], *checkpoint_config(argv)]
    asks_help = {"-h", "--help", "--print_config"} & {arg.split("=", 1)[0] for arg in argv}
    keep_stdout = argv and argv[0] == "predict" and not asks_help
    with results_stdout() if keep_stdout else contextlib.nullcontext() as results:
        SeqlitCLI(
            SeqTask,
            SeqDataModule,
            subclass_mode_model=True,
            subclass_mode_data=True,
            save_config_callback=RunConfigSaver,
            trainer_defaults=trainer_defaults(),
            parser_kwargs={"exit_on_error": False, "prog": "python -m seqlit"},
            results=results,
        )
