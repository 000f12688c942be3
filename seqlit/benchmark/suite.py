"""A benchmark suite: a YAML list of training runs, checked before anything starts.

The keys and what their values must be are the dataclasses of schema.py; this reads the file, merges the
defaults into each entry and checks what relates keys. A mistake is one line naming the file, the entry and
the key; the format, with an example of every key, is in docs/benchmark.md.
"""

from __future__ import annotations

import fnmatch
import os

import yaml

from seqlit.benchmark import dependencies
from seqlit.benchmark.compare import BUILT_IN, direction
from seqlit.benchmark.schema import DATASET, NUMBER, Budget, Entry, Suite, check, keys, mapping, unknown
from seqlit.errors import SeqlitError

# set by the runner itself: an entry that overrides them would break the result it reads back
RESERVED = {"trainer.logger", "trainer.default_root_dir", "test_after_fit"}
BUDGET = {f"trainer.{key}" for key in keys(Budget)}


def _entry(raw: dict, defaults: dict, suite_env: dict[str, str], where: str) -> Entry:
    """An entry over the defaults: `overrides` and `env` merge key by key, other keys replace them."""
    raw = mapping(raw, where)
    if isinstance(raw.get("name"), str):
        where = f"{where} ({raw['name']})"
    merged = {**defaults, **raw}
    for key in ("overrides", "env"):
        merged[key] = {**(defaults.get(key) or {}), **mapping(raw.get(key), f"{where}: {key}")}
    values = check(Entry, merged, where)
    for config in values["configs"]:
        if not os.path.isfile(config):
            raise SeqlitError(f"{where}: config {config!r} not found (paths are relative to the current "
                              f"directory {os.getcwd()}: run from the repository root)")
    if not values.get("dataset"):
        if not values.get("data"):
            raise SeqlitError(f"{where}: {DATASET.error}")
        values["dataset"] = values["data"].split("/")[0]
    for key in values["overrides"]:
        if not isinstance(key, str) or key.startswith("-"):
            raise SeqlitError(f"{where}: override keys are dotted config keys without dashes, got {key!r}")
        if key in RESERVED:
            raise SeqlitError(f"{where}: {key!r} is set by the benchmark runner and cannot be overridden")
        if key in BUDGET:
            raise SeqlitError(f"{where}: put {key!r} under budget, not overrides")
    budget = values.get("budget") or {}
    if budget.get("max_steps") is None and budget.get("max_time") is None:
        raise SeqlitError(f"{where}: budget needs max_steps or max_time (max_epochs alone is no budget)")
    if values.get("seeds") is not None and "seed_everything" in values["overrides"]:
        raise SeqlitError(f"{where}: give the seed in seeds or in overrides.seed_everything, not both")
    return Entry(**{**values, "env": {**suite_env, **values["env"]}})


def _tolerances(tolerances: dict, path: str) -> dict[str, float]:
    """Each key a metric family whose direction seqlit knows (or one of its metrics), so a misspelling cannot
    fall back to the default tolerance."""
    for metric, tol in tolerances.items():
        if direction(str(metric)) == 0:
            raise SeqlitError(f"{path}: compare.tolerances: unknown metric {metric!r} (a family whose direction "
                              f"seqlit knows, or one of its metrics such as f1_PER: {', '.join(sorted(BUILT_IN))})")
        if not NUMBER.ok(tol) or tol < 0:
            raise SeqlitError(f"{path}: compare.tolerances.{metric} must be a non-negative number, got {tol!r}")
    return {str(k): float(v) for k, v in tolerances.items()}


def load_suite(path: str) -> Suite:
    """Read and check a suite file; every entry's config must exist (relative to the current directory)."""
    if not os.path.isfile(path):
        raise SeqlitError(f"suite {path!r} not found (e.g. configs/benchmarks/tiny.yaml)")
    try:
        with open(path, encoding="utf-8") as f:
            raw = yaml.safe_load(f)
    except yaml.YAMLError as err:
        raise SeqlitError(f"{path}: not valid YAML ({str(err).splitlines()[0]})") from None
    values = check(Suite, raw, path)
    defaults = values.get("defaults", {})
    unknown(defaults, keys(Entry).keys() - {"name", "after"}, f"{path}: defaults")
    for key in ("overrides", "env", "budget"):
        mapping(defaults.get(key), f"{path}: defaults.{key}")
    compare = values.get("compare", {})
    compare["tolerances"] = _tolerances(compare.get("tolerances", {}), path)
    entries = [_entry(e, defaults, values.get("env", {}), f"{path}: entry {i}")
               for i, e in enumerate(values["entries"], 1)]
    seen: set[str] = set()
    for e in entries:
        if e.name in seen:
            raise SeqlitError(f"{path}: entry name {e.name!r} appears twice")
        seen.add(e.name)
    dependencies.check(entries, path)
    return Suite(**{**values, "entries": entries, "compare": compare}, path=path)


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
