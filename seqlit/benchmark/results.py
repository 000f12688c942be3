"""The results file: one JSON object per line, appended run after run, and which of its runs count.

Records of one run of an entry (one per seed) share a `run_id`. The leaderboard shows each entry's newest run;
a baseline is its newest run that succeeded on every seed from a clean tree (docs/benchmark.md).
"""

from __future__ import annotations

import fcntl
import json
import os

from seqlit.errors import SeqlitError


def append(path: str, row: dict) -> None:
    """Add `row` as one whole line: under an exclusive lock on the file (benchmarks may share it), in one write,
    fsynced; a short write (disk full) is cut back off, so the file never ends in half a record."""
    os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
    data = (json.dumps(row) + "\n").encode("utf-8")
    fd = os.open(path, os.O_RDWR | os.O_APPEND | os.O_CREAT, 0o666)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)  # released when fd is closed
        size = os.fstat(fd).st_size
        if size and os.pread(fd, 1, size - 1) != b"\n":
            raise SeqlitError(f"{path}: its last line was cut while this benchmark ran (another writer killed?): "
                              f"not appended to, so {row['name']}'s record is not saved")
        try:
            if os.write(fd, data) != len(data):
                raise OSError(f"{path}: short write (disk full?)")
            os.fsync(fd)
        except OSError:
            os.ftruncate(fd, size)
            raise
    finally:
        os.close(fd)


def read(path: str, fix: str = "") -> list[dict]:
    """Every record in file order; a damaged line is reported with its number (and `fix`: how to mend it)."""
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
                raise SeqlitError(f"{path}:{n}: not a JSON object ({err.msg}){fix}") from None
            if not isinstance(row, dict) or "name" not in row:
                raise SeqlitError(f"{path}:{n}: a result needs at least a 'name'{fix}")
            rows.append(row)
    return rows


def check_appendable(path: str) -> None:
    """Before the first entry trains: the results file is absent or holds whole records only, so a record is
    never glued onto the half line a killed run left, nor is the damage found only after training."""
    if not os.path.exists(path):
        return
    fix = (": an earlier run was probably killed while writing it; delete or repair that line (nothing is "
           "appended until then), or pass another --out")
    rows = read(path, fix)
    with open(path, "rb") as f:
        lines = f.read().splitlines(keepends=True)
    if rows and not lines[-1].endswith(b"\n"):
        raise SeqlitError(f"{path}:{len(lines)}: the last line has no newline, so a record would be glued onto it{fix}")


def runs(rows: list[dict]) -> dict[str, list[list[dict]]]:
    """Each entry's runs (lists of seed records), oldest first; entries in order of first appearance."""
    out: dict[str, dict[object, list[dict]]] = {}
    for i, row in enumerate(rows):
        out.setdefault(row["name"], {}).setdefault(row.get("run_id") or ("line", i), []).append(row)
    return {name: list(by_run.values()) for name, by_run in out.items()}


def newest(rows: list[dict]) -> dict[str, list[dict]]:
    """The newest run of each entry, whatever its outcome: what the leaderboard shows."""
    return {name: entry_runs[-1] for name, entry_runs in runs(rows).items()}


def succeeded(run: list[dict]) -> bool:
    return all(r.get("status", "ok") == "ok" for r in run)


def dirty(run: list[dict]) -> bool:
    """Not known to be clean: the `dirty` flag true or null (no git), or (older records) a `-dirty` commit."""
    return any(r.get("dirty", str(r.get("commit", "")).endswith("-dirty")) is not False for r in run)


def _when(run: list[dict]) -> str:
    return f"{str(run[0].get('date', '?'))[:19]} at {run[0].get('commit', '?')}"


def baselines(rows: list[dict], allow_dirty: bool = False) -> tuple[dict[str, list[dict]], list[tuple[str, str]]]:
    """Each entry's newest successful (and, unless `allow_dirty`, clean) run; (entry, note) for each newer run passed over."""
    chosen, notes = {}, []
    for name, entry_runs in runs(rows).items():
        for run in reversed(entry_runs):
            if not succeeded(run):
                notes.append((name, f"the run of {_when(run)} failed; it is not a baseline"))
            elif dirty(run) and not allow_dirty:
                notes.append((name, f"the run of {_when(run)} is from a dirty tree; not a baseline "
                                    "(--allow_dirty_baseline uses it)"))
            else:
                chosen[name] = run
                break
        else:
            notes.append((name, "no usable baseline run"))
    return chosen, notes
