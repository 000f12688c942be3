"""Where a bad value came from: the command-line option, or the config file and line, that set it last.

`with_source` appends `(from configs/x.yaml:12)` or `(from option --data.init_args.path)`. Sources are read in
command-line order, as jsonargparse applies them, and `init_args` levels are ignored when keys are compared; a
key no source sets gets no note (docs/run_plumbing.md).
"""

from __future__ import annotations

import os
import re

import yaml

KEY = re.compile(r"(?<![\w.-])'?((?:model|data|trainer|optimizer|lr_scheduler)(?:\.\w+)+|ckpt_path|predict_output|"
                 r"num_threads|checkpoint_every_n_steps|seed_everything)\b")


def _plain(key: str) -> tuple[str, ...]:
    return tuple(part for part in key.lstrip("-").split(".") if part and part != "init_args")


def yaml_keys(text: str) -> dict[tuple[str, ...], int]:
    """Every key path of a YAML mapping that holds a value (init_args levels dropped) -> its 1-based line."""
    found: dict[tuple[str, ...], int] = {}

    def walk(node, path: tuple[str, ...]) -> None:
        if not isinstance(node, yaml.MappingNode):
            return
        for key, value in node.value:
            name = str(key.value)
            inner = path if name == "init_args" else path + (name,)
            if isinstance(value, yaml.MappingNode):
                walk(value, inner)
            else:  # a value, or a list of them: a mapping's keys are sources of their own
                found[inner] = key.start_mark.line + 1

    try:
        walk(yaml.compose(text, Loader=yaml.SafeLoader), ())
    except yaml.YAMLError:
        return {}
    return found


def _covers(source: tuple[str, ...], key: tuple[str, ...]) -> bool:
    return bool(source) and key[: len(source)] == source


def source_of(key: str, argv: list[str]) -> str | None:
    """The last option or config file line of `argv` that sets `key` (or a section holding it), else None."""
    want, found = _plain(key), None
    for i, arg in enumerate(argv):
        name, eq, value = arg.partition("=")
        if name == "--config":
            path = value if eq else (argv[i + 1] if i + 1 < len(argv) else "")
            text = _read(path)
            lines = yaml_keys(text) if text is not None else {}
            hits = [line for keys, line in lines.items() if _covers(keys, want)]
            if hits:
                found = f"{path}:{max(hits)}" if os.path.isfile(path) else "the --config string"
        elif name.startswith("--") and _covers(_plain(name), want):
            found = f"option {name}"
    return found


def _read(path: str) -> str | None:
    if os.path.isfile(path):
        try:
            with open(path, encoding="utf-8") as f:
                return f.read()
        except (OSError, UnicodeDecodeError):
            return None
    return path  # jsonargparse also takes a config given as a string


def with_source(message: str, argv: list[str]) -> str:
    """`message` with `(from …)` naming where the first key it mentions was set, when a source sets it."""
    m = KEY.search(message)
    source = source_of(m.group(1), argv) if m else None
    return f"{message} (from {source})" if source else message
