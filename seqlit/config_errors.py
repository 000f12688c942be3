"""Turn jsonargparse's nested validation reports into one line that names the key and the fix.

jsonargparse explains a bad config by listing every Union subtype it tried;
correct, but a wall of text. The three mistakes people make (a misspelt key,
a key that does not exist, a value of the wrong kind) are recognised here and
reported as `<key>: <problem>; did you mean <close match>?`.

`nonpositive_size` catches the zero or negative sizes (`hidden_size: 0`,
`num_layers: -1` …) and `bad_rate` the dropout rates outside [0, 1), which
would otherwise fail deep inside torch.
"""

from __future__ import annotations

import difflib
import importlib
import inspect
import re

# model arguments that are sizes or counts: a value must be an integer of at least 1 (None keeps its meaning)
SIZE = re.compile(r"(\w+_size|\w+_dim|num_\w+|\w+_length|\w+_features|\w+_kernel)")
# model arguments that are dropout rates: a number in [0, 1)
RATE = re.compile(r"(\w+_)?dropout")
# trainer arguments that count something and must be at least 1
TRAINER_COUNTS = ("accumulate_grad_batches", "log_every_n_steps", "check_val_every_n_epoch", "num_nodes")

TOP_LEVEL = ["seed_everything", "trainer", "model", "data", "optimizer", "lr_scheduler", "ckpt_path",
             "test_after_fit", "config", "print_config", "weights_only"]


def _params(class_path: str) -> list[str]:
    module, _, name = class_path.rpartition(".")
    try:
        obj = getattr(importlib.import_module(module), name)
    except (ImportError, AttributeError, ValueError):
        return []
    names = []
    for klass in inspect.getmro(obj) if inspect.isclass(obj) else [obj]:
        if "__init__" in vars(klass):
            names += [p for p in inspect.signature(klass.__init__).parameters if p not in ("self", "args", "kwargs")]
    return names


def _suggest(word: str, candidates: list[str]) -> str:
    close = difflib.get_close_matches(word, candidates, n=1, cutoff=0.6)
    return f"; did you mean {close[0]!r}?" if close else f"; valid keys: {', '.join(sorted(set(candidates)))}"


def summarize(message: str) -> str:
    """One line for a jsonargparse/argparse error message."""
    m = re.search(r"unrecognized arguments: (\S+)", message)
    if m:
        key = m.group(1).lstrip("-").split("=")[0]
        parent, _, leaf = key.rpartition(".")
        candidates = _params("pytorch_lightning.Trainer") if parent == "trainer" else TOP_LEVEL
        return f"unknown config key {key!r}{_suggest(leaf, candidates)}"
    section = re.match(r'Parser key "([^"]+)"', message)
    section = section.group(1) if section else "config"
    m = re.search(r"class_path '([^']+)':\s*Option '([^']+)' is not accepted", message)
    if m:
        class_path, option = m.groups()
        return (f"unknown key '{section}.init_args.{option}' for {class_path}"
                f"{_suggest(option, _params(class_path))}")
    m = re.search(r"class_path '([^']+)':\s*Parser key \"([^\"]+)\":\s*(.*?)(?:\n\s*- Expected a <class 'NoneType'>|$)",
                  message, re.S)
    if m:
        class_path, key, problem = m.groups()
        problem = " ".join(problem.split())
        return f"bad value for {section}.init_args.{key} ({class_path}): {problem}"
    m = re.search(r"Import path (\S+) does not|No module named '([^']+)'|class_path '([^']+)'", message)
    lines = [line.strip() for line in message.splitlines() if line.strip()]
    return " ".join(lines[:1] + ([lines[-1]] if len(lines) > 1 and m else []))


def nonpositive_size(config) -> str | None:
    """A message for the first model size (or trainer count) below 1 in a parsed subcommand config, else None."""
    model = getattr(config, "model", None)
    init_args = getattr(model, "init_args", None) if model is not None else None
    items = [("model.init_args", k, v) for k, v in (vars(init_args).items() if init_args is not None else ())
             if SIZE.fullmatch(k)]
    trainer = getattr(config, "trainer", None)
    items += [("trainer", k, getattr(trainer, k, None)) for k in TRAINER_COUNTS if trainer is not None]
    for section, key, value in items:
        if isinstance(value, int) and not isinstance(value, bool) and value < 1:
            return f"{section}.{key} must be a positive integer, got {value}: set --{section}.{key} to 1 or more"
    return None


def bad_rate(config) -> str | None:
    """A message for the first model dropout rate outside [0, 1) in a parsed subcommand config, else None."""
    init_args = getattr(getattr(config, "model", None), "init_args", None)
    for key, value in vars(init_args).items() if init_args is not None else ():
        if RATE.fullmatch(key) and isinstance(value, int | float) and not isinstance(value, bool) and not 0 <= value < 1:
            return (f"model.init_args.{key} must be a rate in [0, 1), got {value}: "
                    f"set --model.init_args.{key} to e.g. 0.1, or 0 for none")
    return None
