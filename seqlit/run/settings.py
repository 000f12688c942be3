"""The run's own settings that a checkpoint brings back to `validate`/`test`/`predict` (and a resumed `fit`).

Settings of the command itself (e.g. `num_threads`) are stored in the checkpoint (`KEY`), or read from an older
run's config.yaml; a value given on the command line or in a later `--config` still wins (docs/run_plumbing.md).
"""

from __future__ import annotations

import os

import pytorch_lightning as pl
import yaml

KEY = "seqlit_settings"
SETTINGS = ("num_threads",)  # how fast, not what: safe to carry to any command that loads the checkpoint


class StoreRunSettings(pl.Callback):
    """Write this command's `SETTINGS` (those it sets) into every checkpoint it saves."""

    def __init__(self, settings: dict):
        self.settings = {k: settings[k] for k in SETTINGS if settings.get(k) is not None}

    def on_save_checkpoint(self, trainer, pl_module, checkpoint: dict) -> None:
        checkpoint[KEY] = dict(self.settings)


def stored_settings(ckpt: dict, path: str) -> dict:
    """The settings the checkpoint's run used: stored in it, or (an older checkpoint) in its run's config.yaml."""
    if isinstance(ckpt.get(KEY), dict):
        return {k: v for k, v in ckpt[KEY].items() if k in SETTINGS}
    config = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(path))), "config.yaml")
    if "://" in path or not os.path.isfile(config):
        return {}
    try:
        with open(config, encoding="utf-8") as f:
            saved = yaml.safe_load(f)
    except (OSError, yaml.YAMLError):
        return {}  # not the run's config after all: nothing is carried over
    return {k: saved[k] for k in SETTINGS if isinstance(saved, dict) and saved.get(k) is not None}
