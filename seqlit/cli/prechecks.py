"""What a trainer command's arguments can be checked for before torch and Lightning are imported (seconds).

Only what needs no parser (a missing `--config` or `--ckpt_path` file), so LightningCLI stays the one parser
of these commands and its help and messages stay the whole truth.
"""

from __future__ import annotations

import os

import yaml

from seqlit.errors import SeqlitError
from seqlit.io.storage import check_root, local_path, tried

TRAINER_SUBCOMMANDS = ("fit", "validate", "test", "predict")
CKPT_ALIASES = ("best", "last", "hpc", "registry")  # Lightning's names, resolved by the trainer


def option_values(argv: list[str], option: str) -> list[str]:
    """Every value given to `option` (`--option X` or `--option=X`), in order."""
    values = []
    for i, arg in enumerate(argv):
        if arg == option and i + 1 < len(argv):
            values.append(argv[i + 1])
        elif arg.startswith(option + "="):
            values.append(arg.split("=", 1)[1])
    return values


def inline_yaml(value: str) -> bool:
    """`--config '{trainer: {max_steps: 2}}'`: jsonargparse takes a YAML mapping in place of a file."""
    try:
        return isinstance(yaml.safe_load(value), dict)
    except yaml.YAMLError:
        return False


def check_ckpt_path(path: str) -> None:
    """A local `--ckpt_path` file that does not exist: one line (a URL is left to the file system)."""
    local = local_path(path)
    if local is not None and not os.path.isfile(local):
        raise SeqlitError(f"--ckpt_path {path!r} does not exist ({tried(path if '://' not in path else local, in_configs=False)}): "
                          "pass a .ckpt file written by `seqlit fit`, e.g. runs/seqlit/<run>/checkpoints/last.ckpt")


def precheck(argv: list[str]) -> None:
    """Refuse a trainer command whose config files or checkpoint file are missing, or whose run root lies below a
    file (other commands: nothing)."""
    if not argv or argv[0] not in TRAINER_SUBCOMMANDS:
        return
    for config in option_values(argv, "--config"):
        local = local_path(config)
        if local is not None and not os.path.isfile(local) and not inline_yaml(config):
            raise SeqlitError(f"--config {config!r} does not exist ({tried(config if '://' not in config else local, in_configs=False)}): "
                              "pass a YAML file, e.g. one of configs/*.yaml")
    for root in option_values(argv, "--trainer.default_root_dir")[-1:]:
        check_root(root)
    for path in option_values(argv, "--ckpt_path")[-1:]:  # the last one given wins
        if path not in CKPT_ALIASES:
            check_ckpt_path(path)
