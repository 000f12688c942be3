"""A benchmark suite: a YAML list of training runs, checked before anything starts.

The format, with an example of every key, is in docs/benchmark.md. Overrides and env merge key by key over the
defaults, other keys replace them; tolerance keys must name a metric family seqlit knows, so a misspelling
cannot fall back to the default. A mistake is one line naming the file, the entry and the key.
"""

from __future__ import annotations

import fnmatch
import os
import re
from dataclasses import dataclass, field
from typing import Any

import yaml

from seqlit.benchmark import dependencies
from seqlit.benchmark.compare import KNOWN, direction
from seqlit.errors import SeqlitError

SUITE_KEYS = {"suite", "env", "defaults", "compare", "entries"}
ENTRY_KEYS = {"name", "config", "data", "dataset", "task", "backbone", "overrides", "budget", "env", "seeds", "target",
              "after"}
BUDGET_KEYS = {"max_steps", "max_time", "max_epochs"}
COMPARE_KEYS = {"tolerances", "max_throughput_drop"}
# set by the runner itself: an entry that overrides them would break the result it reads back
RESERVED = {"trainer.logger", "trainer.default_root_dir", "test_after_fit"}
NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")
MAX_TIME = re.compile(r"^\d+:\d\d:\d\d:\d\d$")


@dataclass(frozen=True)
class Entry:
    name: str
    configs: tuple[str, ...]  # composed in order, as repeated --config
    dataset: str
    budget: dict[str, Any]
    data: str | None = None
    task: str | None = None
    backbone: str | None = None
    overrides: dict[str, Any] = field(default_factory=dict)
    env: dict[str, str] = field(default_factory=dict)
    seeds: tuple[int, ...] | None = None  # None: the config's own seed, one run
    target: dict[str, Any] | None = None  # {"metric": "val/f1", "value": 0.9}
    after: tuple[str, ...] = ()  # entries that run first; overrides may read their {NAME.best_checkpoint}


@dataclass(frozen=True)
class Suite:
    name: str
    path: str
    entries: list[Entry]
    tolerances: dict[str, float] = field(default_factory=dict)
    max_throughput_drop: float | None = None


def _mapping(value, where: str) -> dict:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise SeqlitError(f"{where} must be a mapping (key: value), got {type(value).__name__}")
    return value


def _unknown(keys, allowed: set[str], where: str) -> None:
    extra = sorted(set(keys) - allowed)
    if extra:
        raise SeqlitError(f"{where}: unknown key {extra[0]!r} (allowed: {', '.join(sorted(allowed))})")


def _budget(budget: dict, where: str) -> dict:
    """max_steps / max_time / max_epochs for the trainer; null lifts the config's own cap."""
    _unknown(budget, BUDGET_KEYS, f"{where}: budget")
    if budget.get("max_steps") is None and budget.get("max_time") is None:
        raise SeqlitError(f"{where}: budget needs max_steps or max_time (max_epochs alone is no budget)")
    for key in ("max_steps", "max_epochs"):
        value = budget.get(key)
        if value is not None and (not isinstance(value, int) or isinstance(value, bool) or value <= 0):
            raise SeqlitError(f"{where}: budget.{key} must be a positive integer, got {value!r}")
    value = budget.get("max_time")
    if value is not None and not (isinstance(value, str) and MAX_TIME.match(value)):
        raise SeqlitError(f"{where}: budget.max_time must be a string \"dd:hh:mm:ss\", got {value!r}")
    return dict(budget)


def _overrides(overrides: dict, where: str) -> dict:
    for key in overrides:
        if not isinstance(key, str) or key.startswith("-"):
            raise SeqlitError(f"{where}: override keys are dotted config keys without dashes, got {key!r}")
        if key in RESERVED:
            raise SeqlitError(f"{where}: {key!r} is set by the benchmark runner and cannot be overridden")
        if key in {f"trainer.{k}" for k in BUDGET_KEYS}:
            raise SeqlitError(f"{where}: put {key!r} under budget, not overrides")
    return dict(overrides)


def _seeds(seeds, where: str) -> tuple[int, ...] | None:
    if seeds is None:
        return None
    if (not isinstance(seeds, list) or not seeds
            or not all(isinstance(s, int) and not isinstance(s, bool) and s >= 0 for s in seeds)
            or len(set(seeds)) != len(seeds)):
        raise SeqlitError(f"{where}: seeds must be a list of distinct non-negative integers, e.g. [0, 1, 2], got {seeds!r}")
    return tuple(seeds)


def _target(target, where: str) -> dict | None:
    """{metric: val/..., value: N}: a validation metric, so the time it is first reached can be read from fit."""
    if target is None:
        return None
    target = _mapping(target, f"{where}: target")
    _unknown(target, {"metric", "value"}, f"{where}: target")
    metric, value = target.get("metric"), target.get("value")
    if not isinstance(metric, str) or not metric.startswith("val/") or direction(metric) == 0:
        raise SeqlitError(f"{where}: target.metric must be a validation metric whose direction seqlit knows "
                          f"(e.g. val/f1, val/ppl), got {metric!r}")
    if not isinstance(value, (int, float)) or isinstance(value, bool):
        raise SeqlitError(f"{where}: target.value must be a number, got {value!r}")
    return {"metric": metric, "value": float(value)}


def _entry(raw: dict, defaults: dict, suite_env: dict, where: str) -> Entry:
    if isinstance(raw.get("name"), str):
        where = f"{where} ({raw['name']})"
    _unknown(raw, ENTRY_KEYS, where)
    merged = {**defaults, **raw}
    for key in ("overrides", "env"):
        merged[key] = {**(defaults.get(key) or {}), **_mapping(raw.get(key), f"{where}: {key}")}
    name = merged.get("name")
    if not isinstance(name, str) or not NAME.match(name):
        raise SeqlitError(f"{where}: name must be letters, digits, '.', '_' or '-' "
                          f"(it names the output folder), got {name!r}")
    config = merged.get("config")
    configs = [config] if isinstance(config, str) else config
    if not isinstance(configs, list) or not configs or not all(isinstance(c, str) for c in configs):
        raise SeqlitError(f"{where}: config (a training config YAML, or a list of them) is required")
    for c in configs:
        if not os.path.isfile(c):
            raise SeqlitError(f"{where}: config {c!r} not found (paths are relative to the current "
                              f"directory {os.getcwd()}: run from the repository root)")
    data = merged.get("data")
    if data is not None and (not isinstance(data, str) or os.path.isabs(data) or ".." in data.split("/")):
        raise SeqlitError(f"{where}: data must be a relative path under the data root (e.g. sst2), got {data!r}")
    dataset = merged.get("dataset") or (data.split("/")[0] if data else None)
    if not isinstance(dataset, str):
        raise SeqlitError(f"{where}: give data (a folder under the data root) or dataset "
                          "(the name of embedded or synthetic data)")
    env = {str(k): str(v) for k, v in {**suite_env, **merged["env"]}.items()}
    if merged.get("seeds") is not None and "seed_everything" in merged["overrides"]:
        raise SeqlitError(f"{where}: give the seed in seeds or in overrides.seed_everything, not both")
    return Entry(name=name, configs=tuple(configs), dataset=dataset, data=data,
                 budget=_budget(_mapping(merged.get("budget"), f"{where}: budget"), where),
                 task=merged.get("task"), backbone=merged.get("backbone"),
                 overrides=_overrides(merged["overrides"], where), env=env,
                 seeds=_seeds(merged.get("seeds"), where), target=_target(merged.get("target"), where),
                 after=dependencies.after_names(raw.get("after"), where))


def _compare(raw: dict, where: str) -> tuple[dict[str, float], float | None]:
    _unknown(raw, COMPARE_KEYS, f"{where}: compare")
    tolerances = _mapping(raw.get("tolerances"), f"{where}: compare.tolerances")
    for metric, tol in tolerances.items():
        if direction(str(metric)) == 0:
            raise SeqlitError(f"{where}: compare.tolerances: unknown metric {metric!r} (a family whose direction "
                              f"seqlit knows, or one of its metrics such as f1_PER: {', '.join(sorted(KNOWN))})")
        if not isinstance(tol, (int, float)) or isinstance(tol, bool) or tol < 0:
            raise SeqlitError(f"{where}: compare.tolerances.{metric} must be a non-negative number, got {tol!r}")
    drop = raw.get("max_throughput_drop")
    if drop is not None and (isinstance(drop, bool) or not isinstance(drop, (int, float)) or not 0 <= drop < 1):
        raise SeqlitError(f"{where}: compare.max_throughput_drop must be a fraction in [0, 1), got {drop!r}")
    return {str(k): float(v) for k, v in tolerances.items()}, drop


def load_suite(path: str) -> Suite:
    """Read and check a suite file; every entry's config must exist (relative to the current directory)."""
    if not os.path.isfile(path):
        raise SeqlitError(f"suite {path!r} not found (e.g. configs/benchmarks/tiny.yaml)")
    try:
        with open(path, encoding="utf-8") as f:
            raw = yaml.safe_load(f)
    except yaml.YAMLError as err:
        raise SeqlitError(f"{path}: not valid YAML ({str(err).splitlines()[0]})") from None
    raw = _mapping(raw, path)
    _unknown(raw, SUITE_KEYS, path)
    name = raw.get("suite")
    if not isinstance(name, str) or not name:
        raise SeqlitError(f"{path}: 'suite: NAME' is required")
    entries = raw.get("entries")
    if not isinstance(entries, list) or not entries:
        raise SeqlitError(f"{path}: 'entries' must be a non-empty list")
    defaults = _mapping(raw.get("defaults"), f"{path}: defaults")
    _unknown(defaults, ENTRY_KEYS - {"name", "after"}, f"{path}: defaults")
    for key in ("overrides", "env", "budget"):
        _mapping(defaults.get(key), f"{path}: defaults.{key}")
    suite_env = _mapping(raw.get("env"), f"{path}: env")
    parsed = [_entry(_mapping(e, f"{path}: entry {i + 1}"), defaults, suite_env, f"{path}: entry {i + 1}")
              for i, e in enumerate(entries)]
    seen: set[str] = set()
    for e in parsed:
        if e.name in seen:
            raise SeqlitError(f"{path}: entry name {e.name!r} appears twice")
        seen.add(e.name)
    dependencies.check(parsed, path)
    tolerances, drop = _compare(_mapping(raw.get("compare"), f"{path}: compare"), path)
    return Suite(name=name, path=path, entries=parsed, tolerances=tolerances, max_throughput_drop=drop)


def matches(only: str | None, name: str) -> bool:
    """Whether `--only` (comma-separated globs; None: everything) selects the entry `name`."""
    return not only or any(fnmatch.fnmatchcase(name, p.strip()) for p in only.split(",") if p.strip())


def select(suite: Suite, only: str | None) -> list[Entry]:
    """The entries `only` selects (see `matches`); globs that match nothing are refused."""
    chosen = [e for e in suite.entries if matches(only, e.name)]
    if not chosen:
        raise SeqlitError(f"--only {only!r} matches no entry of {suite.path} "
                          f"(entries: {', '.join(e.name for e in suite.entries)})")
    return chosen
