"""The results file: one JSON object per line, appended run after run.

Appending keeps history (a rerun of an entry adds a line, it does not
rewrite one); readers that want the current state take the latest line of
each entry name.
"""

from __future__ import annotations

import json
import os

from seqlit.errors import SeqlitError


def append(path: str, row: dict) -> None:
    os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
    with open(path, "a", encoding="utf-8") as f:
        f.write(json.dumps(row, sort_keys=False) + "\n")


def read(path: str) -> list[dict]:
    """Every record in file order; a damaged line is reported with its number."""
    if not os.path.isfile(path):
        raise SeqlitError(f"results file {path!r} not found")
    rows = []
    with open(path, encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except json.JSONDecodeError as err:
                raise SeqlitError(f"{path}:{n}: not a JSON object ({err.msg})") from None
            if not isinstance(row, dict) or "name" not in row:
                raise SeqlitError(f"{path}:{n}: a result needs at least a 'name'")
            rows.append(row)
    return rows


def latest(rows: list[dict]) -> dict[str, dict]:
    """The last record of each entry name, in order of first appearance."""
    out: dict[str, dict] = {}
    for row in rows:
        out[row["name"]] = row
    return out
