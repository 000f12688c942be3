"""The suite file's schema: one dataclass per section, its `Annotated` fields the section's keys.

A field's annotation says how its value is checked: a `Rule` (what the value must be, worded for the one-line
error) or another section's dataclass (a nested mapping). `check` reads a mapping against a section; relations
between keys (a budget needs steps or time, the config files exist) are checked where the suite is read (suite.py).
"""

import os
import re
from dataclasses import MISSING, Field, dataclass, field, fields
from typing import Annotated, Any, Callable

from seqlit.benchmark.compare import direction
from seqlit.errors import SeqlitError

NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")
MAX_TIME = re.compile(r"^\d+:\d\d:\d\d:\d\d$")


@dataclass(frozen=True)
class Rule:
    """What a value must be: `ok` decides, `error` words the refusal ({key}, {value}, {type}), `cast` is kept."""

    ok: Callable[[Any], bool]
    error: str
    cast: Callable[[Any], Any] = lambda value: value


def must_be(what: str, ok: Callable[[Any], bool], cast: Callable[[Any], Any] = lambda value: value) -> Rule:
    return Rule(ok, f"{{key}} must be {what}, got {{value!r}}", cast)


def _int(v) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def _number(v) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def _names(v) -> bool:
    """One name, or a non-empty list of distinct names."""
    names = [v] if isinstance(v, str) else v
    return isinstance(names, list) and bool(names) and all(isinstance(n, str) and n for n in names) \
        and len(set(names)) == len(names)


def _tuple(v) -> tuple:
    return (v,) if isinstance(v, str) else tuple(v)


MAPPING = Rule(lambda v: isinstance(v, dict), "{key} must be a mapping (key: value), got {type}")
ENV = Rule(MAPPING.ok, MAPPING.error, lambda v: {str(k): str(x) for k, x in v.items()})
TEXT = must_be("a string", lambda v: isinstance(v, str))
POSITIVE = must_be("a positive integer", lambda v: _int(v) and v > 0)
DURATION = must_be('a string "dd:hh:mm:ss"', lambda v: isinstance(v, str) and bool(MAX_TIME.match(v)))
ENTRY_NAME = must_be("letters, digits, '.', '_' or '-' (it names the output folder)",
                     lambda v: isinstance(v, str) and bool(NAME.match(v)))
CONFIGS = Rule(lambda v: isinstance(v, str) or (isinstance(v, list) and bool(v) and all(isinstance(c, str) for c in v)),
               "config (a training config YAML, or a list of them) is required", _tuple)
DATA = must_be("a relative path under the data root (e.g. sst2)",
               lambda v: isinstance(v, str) and not os.path.isabs(v) and ".." not in v.split("/"))
DATASET = Rule(lambda v: isinstance(v, str),
               "give data (a folder under the data root) or dataset (the name of embedded or synthetic data)")
SEEDS = must_be("a list of distinct non-negative integers, e.g. [0, 1, 2]",
                lambda v: isinstance(v, list) and bool(v) and all(_int(s) and s >= 0 for s in v)
                and len(set(v)) == len(v), tuple)
AFTER = Rule(_names, "{key} must name an entry or list distinct entries (e.g. after: [wt2-charlm-fwd, "
                     "wt2-charlm-bwd]), got {value!r}", _tuple)
VAL_METRIC = must_be("a validation metric whose direction seqlit knows (e.g. val/f1, val/ppl)",
                     lambda v: isinstance(v, str) and v.startswith("val/") and direction(v) != 0)
NUMBER = must_be("a number", _number, float)
FRACTION = must_be("a fraction in [0, 1)", lambda v: _number(v) and 0 <= v < 1)


@dataclass(frozen=True)
class Budget:
    """The trainer's caps; an entry keeps only the keys it gives (null lifts the config's own cap)."""

    max_steps: Annotated[int | None, POSITIVE] = None
    max_time: Annotated[str | None, DURATION] = None
    max_epochs: Annotated[int | None, POSITIVE] = None


@dataclass(frozen=True)
class Target:
    """A validation metric and its value: the time it is first reached during fit is recorded."""

    metric: Annotated[str, VAL_METRIC]
    value: Annotated[float, NUMBER]


@dataclass(frozen=True)
class Compare:
    """`--compare`'s tolerances (relative worsening allowed, by metric) and the throughput drop allowed."""

    tolerances: Annotated[dict[str, float], MAPPING] = field(default_factory=dict)
    max_throughput_drop: Annotated[float | None, FRACTION] = None


@dataclass(frozen=True)
class Entry:
    """One training run of a suite (one per seed); `budget` and `target` as mappings of their sections."""

    name: Annotated[str, ENTRY_NAME]
    configs: Annotated[tuple[str, ...], CONFIGS] = field(metadata={"key": "config"})  # composed in order
    dataset: Annotated[str | None, DATASET] = None  # None: the first part of `data`
    budget: Annotated[dict[str, Any], Budget] = field(default_factory=dict)
    data: Annotated[str | None, DATA] = None
    task: Annotated[str | None, TEXT] = None
    backbone: Annotated[str | None, TEXT] = None
    overrides: Annotated[dict[str, Any], MAPPING] = field(default_factory=dict)
    env: Annotated[dict[str, str], ENV] = field(default_factory=dict)
    seeds: Annotated[tuple[int, ...] | None, SEEDS] = None  # None: the config's own seed, one run
    target: Annotated[dict[str, Any] | None, Target] = None
    after: Annotated[tuple[str, ...], AFTER] = ()  # entries that run first; overrides may read their {NAME.best_checkpoint}


@dataclass(frozen=True)
class Suite:
    """The suite file (its key `suite` is the name), entries parsed; `path` is where it was read from."""

    name: Annotated[str, Rule(lambda v: isinstance(v, str) and bool(v), "'suite: NAME' is required")] = \
        field(metadata={"key": "suite"})
    entries: Annotated[list, Rule(lambda v: isinstance(v, list) and bool(v), "'entries' must be a non-empty list")]
    path: str = ""  # not a key
    env: Annotated[dict[str, str], ENV] = field(default_factory=dict)
    defaults: Annotated[dict[str, Any], MAPPING] = field(default_factory=dict)
    compare: Annotated[dict[str, Any], Compare] = field(default_factory=dict)


def keys(section: type) -> dict[str, Field]:
    """The file keys of a section: its fields with a checked type, by the key that names them."""
    return {f.metadata.get("key", f.name): f for f in fields(section) if hasattr(f.type, "__metadata__")}


def mapping(value, label: str) -> dict:
    """`value` as a mapping (null: empty), else one line."""
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise SeqlitError(MAPPING.error.format(key=label, type=type(value).__name__))
    return value


def unknown(raw: dict, allowed, label: str) -> None:
    extra = sorted(set(raw) - set(allowed), key=str)
    if extra:
        raise SeqlitError(f"{label}: unknown key {extra[0]!r} (allowed: {', '.join(sorted(allowed))})")


def _required(f: Field) -> bool:
    return f.default is MISSING and f.default_factory is MISSING


def check(section: type, raw, where: str, prefix: str = "") -> dict[str, Any]:
    """The keys `raw` gives, checked against `section` and cast, by field name; null is the field's default and
    a missing required key is checked as null. The first mistake is one line naming `where` and the key."""
    label = f"{where}: {prefix}" if prefix else where
    raw = mapping(raw, label)
    spec = keys(section)
    unknown(raw, spec, label)
    values = {}
    for key in [*raw, *(k for k, f in spec.items() if k not in raw and _required(f))]:
        f, value = spec[key], raw.get(key)
        how = f.type.__metadata__[0]
        name = f"{prefix}.{key}" if prefix else key
        if value is None and not _required(f):
            values[f.name] = f.default if f.default_factory is MISSING else f.default_factory()
        elif isinstance(how, Rule):
            if not how.ok(value):
                raise SeqlitError(f"{where}: " + how.error.format(key=name, value=value, type=type(value).__name__))
            values[f.name] = how.cast(value)
        else:
            values[f.name] = check(how, value, where, name)
    return values
