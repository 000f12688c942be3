"""`validate`, `test` and `predict` leave no clutter: they log to W&B only when asked.

Without `--trainer.logger …` (on the command line or in a config) an evaluation runs with no logger and reports
to the terminal and, when its checkpoint lies in a run folder, to that run's results.json under `evaluations`.
"""

from __future__ import annotations

import os

import yaml

EVALUATIONS = ("validate", "test", "predict")


def _config_files(argv: list[str]) -> list[str]:
    """The values of `--config X` / `--config=X` in `argv`."""
    found = [arg.split("=", 1)[1] for arg in argv if arg.startswith("--config=")]
    found += [argv[i + 1] for i, arg in enumerate(argv[:-1]) if arg == "--config"]
    return found


def logger_asked(argv: list[str]) -> bool:
    """Whether the command line or one of its `--config` files names `trainer.logger`."""
    if any(arg.split("=", 1)[0].startswith("--trainer.logger") for arg in argv):
        return True
    for source in _config_files(argv):
        try:
            if os.path.isfile(source):
                with open(source, encoding="utf-8") as f:
                    config = yaml.safe_load(f)
            else:  # jsonargparse also takes the config itself as a string
                config = yaml.safe_load(source)
        except (OSError, yaml.YAMLError):
            continue  # jsonargparse reports an unreadable config itself
        trainer = config.get("trainer") if isinstance(config, dict) else None
        if isinstance(trainer, dict) and "logger" in trainer:
            return True
    return False


def no_logger_unless_asked(subcommand: str | None, trainer_config, argv: list[str]) -> None:
    """An evaluation without a logger of its own asked for runs with none (in place)."""
    if subcommand in EVALUATIONS and not logger_asked(argv):
        trainer_config["logger"] = False


def checkpoint_run(ckpt_path: str | None) -> str | None:
    """The run folder a local checkpoint lies in (`RUN/checkpoints/x.ckpt` -> RUN), else None."""
    if not ckpt_path or "://" in ckpt_path:
        return None
    folder = os.path.dirname(os.path.abspath(ckpt_path))
    return os.path.dirname(folder) if os.path.basename(folder) == "checkpoints" else None
