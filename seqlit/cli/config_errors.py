"""Turn jsonargparse's nested validation reports into one line that names the key and the fix.

A misspelt key, an unknown key, a value of the wrong kind, and the size or rate refusals of `seqlit.nn.types`
become `<key>: <problem>; did you mean …?` instead of a list of every Union subtype tried (docs/run_plumbing.md).
"""

from __future__ import annotations

import difflib
import importlib
import inspect
import re

# the range types of seqlit.nn.types: what a value must be, and what to set instead
RANGES = {"PositiveInt": ("a positive integer", "1 or more"), "Rate": ("a rate in [0, 1)", "e.g. 0.1, or 0 for none")}
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


def _keys(class_path: str) -> list[str]:
    """The keys of the TypedDict `class_path` names (none if it cannot be imported)."""
    module, _, name = class_path.rpartition(".")
    try:
        return list(getattr(importlib.import_module(module), name).__annotations__)
    except (ImportError, AttributeError, ValueError):
        return []


def _refusal(class_path: str, option: str) -> str:
    """Why a data module refuses `predict_file` (its `predict_hint`: a language model generates), else nothing."""
    module, _, name = class_path.rpartition(".")
    try:
        hint = getattr(getattr(importlib.import_module(module), name), "predict_hint", None)
    except (ImportError, AttributeError, ValueError):
        return ""
    return f"; {hint}" if option == "predict_file" and isinstance(hint, str) else ""


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
    m = re.search(r"does not accept option '([^']+)'", message)
    if m:  # a key of a config file that no class takes
        key = m.group(1)
        parent, _, leaf = key.rpartition(".")
        candidates = _params("pytorch_lightning.Trainer") if parent == "trainer" else TOP_LEVEL
        return f"unknown config key {key!r}{_suggest(leaf, candidates)}"
    section = re.match(r'Parser key "([^"]+)"', message)
    section = section.group(1) if section else "config"
    # a value outside its type's range, at the top of init_args or inside a section (backbone: …)
    m = re.search(r"class_path '[^']+':\s*Parser key \"([^\"]+)\":\s*(?:Type .*? expects a function or a callable "
                  r"class: Parser key \"([^\"]+)\":\s*)?Not of type (\w+): (\S+?)\.? does not conform", message, re.S)
    if m and m.group(3) in RANGES:
        key = ".".join(k for k in (f"{section}.init_args", m.group(1), m.group(2)) if k)
        what, fix = RANGES[m.group(3)]
        return f"{key} must be {what}, got {m.group(4)}: set --{key} to {fix}"
    # an unknown key inside a TypedDict section (`pretrained:`): its keys are the TypedDict's
    inside = r"(?:(?!Parser key).)*?"  # within the innermost section's report
    m = re.search(rf"Parser key \"([^\"]+)\":{inside}Subtypes: \[<class '([\w.]+)'>{inside}Unexpected keys: \{{'([^']+)'",
                  message, re.S)
    if m:
        inner, typed, option = m.groups()
        return f"unknown key '{section}.init_args.{inner}.{option}'{_suggest(option, _keys(typed))}"
    # an unknown key inside a section: name the section's class and its keys
    m = re.search(r"class_path '[^']+':\s*Parser key \"([^\"]+)\":\s*Type .*? expects a function or a callable class: "
                  r"Option '([^']+)' is not accepted\. Got value: Namespace\(class_path='([^']+)'", message, re.S)
    if m:
        inner, option, class_path = m.groups()
        return (f"unknown key '{section}.init_args.{inner}.{option}' for {class_path}"
                f"{_suggest(option, _params(class_path))}")
    m = re.search(r"class_path '([^']+)':\s*Option '([^']+)' is not accepted", message)
    if m:
        class_path, option = m.groups()
        params = _params(class_path)
        close = difflib.get_close_matches(option, params, n=1, cutoff=0.6)
        # a backbone option at the top of init_args (where 0.1 took it), or misspelt there: point into `backbone:`
        inner = difflib.get_close_matches(option, _params("seqlit.nn.Recurrent"), n=1, cutoff=0.6) \
            if "backbone" in params and not close else []
        hint = f"; did you mean 'backbone.{inner[0]}'?" if inner else _suggest(option, params)
        if close and close[0] == option:  # a base class takes the key, this one refuses it: no spelling to suggest
            hint = f": {class_path.rpartition('.')[2]} does not take it{_refusal(class_path, option)}"
        return f"unknown key '{section}.init_args.{option}' for {class_path}{hint}"
    m = re.search(r"class_path '[^']+':\s*Parser key \"([^\"]+)\":\s*Type .*? expects a function or a callable class: "
                  r"Parser key \"([^\"]+)\":\s*Expected a typing\.Literal\[([^\]]*)\]\. Got value: (\S+?)\.", message, re.S)
    if m:
        inner, key, choices, value = m.groups()
        return (f"{section}.init_args.{inner}.{key} must be one of {', '.join(c.strip(chr(39)) for c in choices.split(', '))}, "
                f"got {value!r}")
    m = re.search(r"class_path '([^']+)':\s*Parser key \"([^\"]+)\":\s*(.*?)(?:\n\s*- Expected a <class 'NoneType'>|$)",
                  message, re.S)
    if m:
        class_path, key, problem = m.groups()
        problem = " ".join(problem.split())
        return f"bad value for {section}.init_args.{key} ({class_path}): {problem}"
    m = re.fullmatch(r'Parser key "([^"]+)":\s*(Expected [^\n]*|Not of type [^\n]*)\s*', message.strip() + "\n", re.S)
    if m:  # a plain option of the wrong type (`--trainer.max_steps abc`)
        return f"bad value for {m.group(1)}: {' '.join(m.group(2).split())}"
    m = re.search(r"Import path (\S+) does not|No module named '([^']+)'|class_path '([^']+)'", message)
    lines = [line.strip() for line in message.splitlines() if line.strip()]
    return " ".join(lines[:1] + ([lines[-1]] if len(lines) > 1 and m else []))


def nonpositive_count(config) -> str | None:
    """A message for the first trainer count below 1 in a parsed subcommand config, else None."""
    trainer = getattr(config, "trainer", None)
    for key in TRAINER_COUNTS if trainer is not None else ():
        value = getattr(trainer, key, None)
        if isinstance(value, int) and not isinstance(value, bool) and value < 1:
            return f"trainer.{key} must be a positive integer, got {value}: set --trainer.{key} to 1 or more"
    return None
