"""Entries that start from another entry's checkpoint: `after:`, `{NAME.best_checkpoint}` placeholders, run order.

Dependencies run first and `--only X` brings them along; cycles, unknown names and placeholders outside `after`
are refused when the suite is read, before anything trains; a failed dependency fails its dependants untrained.
The rules and why: docs/benchmark.md.
"""

from __future__ import annotations

import graphlib
import re
from dataclasses import replace
from typing import Any

from seqlit.errors import SeqlitError

PLACEHOLDER = re.compile(r"\{([A-Za-z0-9][A-Za-z0-9._-]*)\.([A-Za-z_]+)\}")
FIELDS = {"best_checkpoint"}  # what a placeholder may read from a dependency's record


def _strings(value):
    if isinstance(value, str):
        yield value
    elif isinstance(value, list):
        for v in value:
            yield from _strings(v)
    elif isinstance(value, dict):
        for v in value.values():
            yield from _strings(v)


def placeholders(overrides: dict[str, Any]) -> list[tuple[str, str, str]]:
    """(override key, entry name, field) of every placeholder in the overrides."""
    return [(key, m.group(1), m.group(2)) for key, value in overrides.items()
            for text in _strings(value) for m in PLACEHOLDER.finditer(text)]


def check(entries: list, path: str) -> None:
    """Refuse unknown names, placeholders outside `after` or of unknown fields, and cycles (one line each)."""
    by_name = {e.name: e for e in entries}
    for e in entries:
        where = f"{path}: entry {e.name}"
        for name in e.after:
            if name == e.name:
                raise SeqlitError(f"{where}: after names the entry itself")
            if name not in by_name:
                raise SeqlitError(f"{where}: after names {name!r}, which is no entry of this suite "
                                  f"(entries: {', '.join(by_name)})")
        for key, name, field in placeholders(e.overrides):
            if name not in e.after:
                raise SeqlitError(f"{where}: overrides.{key} reads {{{name}.{field}}} but {name!r} is not in the "
                                  f"entry's after ({', '.join(e.after) or 'none'}): add it, so it runs first")
            if field not in FIELDS:
                raise SeqlitError(f"{where}: overrides.{key}: unknown placeholder field {field!r} in "
                                  f"{{{name}.{field}}} (known: {', '.join(sorted(FIELDS))})")
    try:
        graphlib.TopologicalSorter({e.name: e.after for e in entries}).prepare()
    except graphlib.CycleError as err:
        # graphlib lists the cycle along predecessor edges (x before y); `after` points the other way. Start it
        # at the suite's first entry on it, so the message does not depend on graphlib's walk.
        loop = list(reversed(err.args[1]))[:-1]
        position = [e.name for e in entries]
        first = min(range(len(loop)), key=lambda i: position.index(loop[i]))
        loop = loop[first:] + loop[:first] + [loop[first]]
        raise SeqlitError(f"{path}: entry {loop[0]}: after makes a cycle ({' -> '.join(loop)}): "
                          "an entry cannot wait for itself") from None


def plan(entries: list, chosen: list) -> tuple[list, list[str]]:
    """The chosen entries with their dependencies (recursively), dependencies first, else in suite order;
    and the names added for them."""
    by_name = {e.name: e for e in entries}
    needed: set[str] = set()

    def need(name: str) -> None:
        if name not in needed:
            needed.add(name)
            for dep in by_name[name].after:
                need(dep)

    for e in chosen:
        need(e.name)
    position = {e.name: i for i, e in enumerate(entries)}
    order = graphlib.TopologicalSorter({name: by_name[name].after for name in needed})
    order.prepare()  # check() refused cycles
    ordered, ready = [], []
    while order.is_active():  # of the entries whose dependencies have run, the first in suite order
        ready = sorted([*ready, *order.get_ready()], key=position.__getitem__)
        name = ready.pop(0)
        ordered.append(by_name[name])
        order.done(name)
    picked = {e.name for e in chosen}
    return ordered, [e.name for e in ordered if e.name not in picked]


def resolve(entry, done: dict[str, list[dict]], seed: int | None):
    """(the entry with its placeholders filled in, None), or (None, why it cannot run) when a dependency
    failed or left no checkpoint. `done`: each finished entry's records, in seed order."""
    values = {}
    for name in entry.after:
        runs = done.get(name) or []
        if not runs:
            return None, f"dependency {name} did not run"
        row = next((r for r in runs if seed is not None and r.get("seed") == seed), runs[0])  # same seed, else first
        if row.get("status") != "ok":
            return None, f"dependency {name} failed" + ("" if row.get("seed") is None else f" on seed {row['seed']}")
        values[name] = row
    for _, name, field in placeholders(entry.overrides):
        if not values[name].get(field):
            return None, f"dependency {name} left no {field}"

    def fill(value):
        if isinstance(value, str):
            return PLACEHOLDER.sub(lambda m: str(values[m.group(1)][m.group(2)]), value)
        if isinstance(value, list):
            return [fill(v) for v in value]
        if isinstance(value, dict):
            return {k: fill(v) for k, v in value.items()}
        return value

    return replace(entry, overrides={k: fill(v) for k, v in entry.overrides.items()}), None
