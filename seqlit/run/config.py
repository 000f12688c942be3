"""Save each run's full config beside its checkpoints, never over another run's.

Lightning's `SaveConfigCallback` aborts when the logger's shared directory already holds one. Here it goes into
the run's own folder, numbered (`config-1.yaml`, …) if taken, the name claimed by the write itself; written
atomically, with the user's umask, and logged as the W&B run config (docs/run_plumbing.md).
Under DDP rank 0 saves and broadcasts its failure, so every rank stops with the same line instead of waiting.
"""

from __future__ import annotations

import os

import yaml
from lightning_fabric.utilities.cloud_io import get_filesystem
from pytorch_lightning.callbacks import ModelCheckpoint
from pytorch_lightning.cli import SaveConfigCallback
from pytorch_lightning.loggers import WandbLogger
from pytorch_lightning.utilities import rank_zero_info

from seqlit.errors import SeqlitError
from seqlit.run.claim import claim
from seqlit.io.storage import write_new


def run_dir(trainer) -> str:
    """The folder of this run: where its checkpoints go, minus `checkpoints/`."""
    ckpt = next((c for c in trainer.callbacks if isinstance(c, ModelCheckpoint)), None)
    if ckpt is not None and ckpt.dirpath:
        return os.path.dirname(ckpt.dirpath.rstrip("/"))  # not normpath: it would turn memory://b into memory:/b
    if trainer.loggers:
        logger = trainer.loggers[0]
        if getattr(logger, "log_dir", None):  # CSV / TensorBoard: Lightning puts checkpoints under log_dir
            return logger.log_dir
        # W&B: ModelCheckpoint's default is <save_dir>/<project>/<run id>/checkpoints
        return os.path.join(logger.save_dir or trainer.default_root_dir, str(logger.name), str(logger.version))
    return trainer.default_root_dir


class RunConfigSaver(SaveConfigCallback):
    def __init__(self, parser, config, config_filename: str = "config.yaml", overwrite: bool = False,
                 multifile: bool = False, save_to_log_dir: bool = False):
        super().__init__(parser, config, config_filename, overwrite, multifile, save_to_log_dir=False)

    def setup(self, trainer, pl_module, stage: str) -> None:
        """Lightning's setup, with rank zero's failure sent to every rank (it would leave the others waiting)."""
        if self.already_saved:
            return
        failure = None
        if trainer.is_global_zero:
            try:
                self.save_config(trainer, pl_module, stage)
            except Exception as err:  # the refusal above, a full disk, anything: every rank must stop
                failure = err
        sent = None if failure is None else (isinstance(failure, SeqlitError), str(failure) or type(failure).__name__)
        sent = trainer.strategy.broadcast(sent)
        if failure is not None:
            raise failure
        if sent is not None:
            user_error, message = sent
            raise SeqlitError(message if user_error else f"rank 0 could not save the run's config: {message}")
        self.already_saved = True

    def save_config(self, trainer, pl_module, stage: str) -> None:
        if stage != "fit" and trainer.logger is None:
            return  # an evaluation without a logger has no run folder: leave the working directory clean
        folder = run_dir(trainer)
        if stage == "fit":
            claim(folder)  # before the first file: a folder another live run holds is refused here
        fs = get_filesystem(folder)
        stem, ext = os.path.splitext(self.config_filename)
        path, n = os.path.join(folder, self.config_filename), 0
        if self.multifile:  # jsonargparse writes the included files beside it: local folders only
            while fs.exists(path):
                n += 1
                path = os.path.join(folder, f"{stem}-{n}{ext}")
            os.makedirs(folder, exist_ok=True)
            self.parser.save(self.config, path, skip_none=False, multifile=True)
        else:
            text = self.parser.dump(self.config, skip_none=False).encode("utf-8")
            while not write_new(path, lambda f: f.write(text)):  # the name is claimed by the write itself
                n += 1
                path = os.path.join(folder, f"{stem}-{n}{ext}")
        if n:
            rank_zero_info(f"[seqlit] {self.config_filename} exists in {folder}; this run's config is {os.path.basename(path)}")
        rank_zero_info(f"[seqlit] config saved to {path}")
        for logger in trainer.loggers:  # the run's W&B config: all of config.yaml, not only the module's arguments
            if isinstance(logger, WandbLogger):
                logger.experiment.config.update(yaml.safe_load(self.parser.dump(self.config, skip_none=False)),
                                                allow_val_change=True)
