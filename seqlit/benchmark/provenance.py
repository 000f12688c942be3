"""Where a benchmark record came from: enough to check its code out again and rerun it.

Commit and dirty flag are read once, before anything is written (the results file is itself tracked, so a later
read would call every entry dirty). Versions come from package metadata, not imports, so `benchmark --help`
stays quick; the host travels because a wall-time budget measures the machine (docs/benchmark.md).
"""

from __future__ import annotations

import contextlib
import os
import platform
import subprocess
from importlib.metadata import version


def _git(*args: str, cwd: str | None = None) -> str | None:
    try:
        out = subprocess.run(["git", *args], capture_output=True, text=True, timeout=30, cwd=cwd)
    except (OSError, subprocess.TimeoutExpired):
        return None
    return out.stdout.strip() if out.returncode == 0 else None


def host() -> str:
    """The processor model and the cores this process may use, e.g. 'Intel(R) Xeon(R) Processor, 2 cores'."""
    model = None
    with contextlib.suppress(OSError), open("/proc/cpuinfo", encoding="utf-8") as f:
        model = next((line.split(":", 1)[1].strip() for line in f if line.startswith("model name")), None)
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return f"{model or platform.processor() or platform.machine() or 'unknown processor'}, {cores} cores"


def _tree(cwd: str | None = None, short: bool = False) -> dict:
    commit = _git("rev-parse", *(["--short=12"] if short else []), "HEAD", cwd=cwd)
    status = _git("status", "--porcelain", "--untracked-files=no", cwd=cwd) if commit else None
    return {"commit": commit, "dirty": None if status is None else bool(status)}


def source_tree() -> dict:
    """{commit, dirty} of the checkout seqlit is imported from; both None when it is not one (an installed wheel)."""
    return _tree(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def command_line(argv: list[str]) -> list[str]:
    """The command as the user typed it: `python -m seqlit …` for the module entry, else the script's name."""
    head = ["python", "-m", "seqlit"] if argv[0].endswith("__main__.py") else [os.path.basename(argv[0])]
    return head + argv[1:]


def collect() -> dict:
    """{commit, dirty, torch, lightning, python, host} of the current directory's checkout; commit 'unknown' (and
    dirty None) outside one."""
    tree = _tree(short=True)
    return {"commit": tree["commit"] or "unknown", "dirty": tree["dirty"],
            "torch": version("torch"), "lightning": version("pytorch-lightning"),
            "python": platform.python_version(), "host": host()}
