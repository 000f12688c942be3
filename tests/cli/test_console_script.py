"""The `seqlit` console script starts on the light entry (seqlit/cli/main.py), as `python -m seqlit` does: its `--help`
and a missing config answer without importing torch. The entry point is read from this tree's pyproject.toml (the
venv's installed script belongs to another checkout), and called as the installed script would call it."""

from __future__ import annotations

import os
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def script_entry() -> tuple[str, str]:
    target = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["scripts"]["seqlit"]
    module, _, function = target.partition(":")
    return module, function


def run_script(*argv: str, cwd) -> subprocess.CompletedProcess:
    """The script's code (what pip's generated wrapper does), then which heavy modules were imported."""
    module, function = script_entry()
    code = (f"import sys, atexit\n"
            f"atexit.register(lambda: print('IMPORTED', sorted(m for m in ('torch', 'pytorch_lightning', 'datasets') "
            f"if m in sys.modules), file=sys.stderr))\n"
            f"sys.argv = ['seqlit', *{list(argv)!r}]\n"
            f"from {module} import {function}\n"
            f"sys.exit({function}())\n")
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.run([sys.executable, "-c", code], cwd=cwd, env=env, capture_output=True, text=True, timeout=120)


def imported(proc) -> str:
    return next(line for line in proc.stderr.splitlines() if line.startswith("IMPORTED"))


@pytest.mark.parametrize("argv", [("--help",), ("benchmark", "--help")])
def test_script_help_does_not_import_torch(tmp_path, argv):
    proc = run_script(*argv, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert imported(proc) == "IMPORTED []", proc.stderr


def test_script_missing_config_is_one_line_without_torch(tmp_path):
    proc = run_script("fit", "--config", "nosuch.yaml", cwd=tmp_path)
    lines = [line for line in proc.stderr.splitlines() if not line.startswith("IMPORTED")]
    assert proc.returncode == 2
    assert len(lines) == 1 and "nosuch.yaml" in lines[0] and "does not exist" in lines[0], proc.stderr
    assert imported(proc) == "IMPORTED []"


def test_an_inline_yaml_config_is_not_taken_for_a_missing_file():
    from seqlit.cli.prechecks import precheck

    precheck(["fit", "--config", "{trainer: {max_steps: 2}}"])  # jsonargparse's own: no error here
    with pytest.raises(Exception, match="--config 'nosuch.yaml' does not exist"):
        precheck(["fit", "--config=nosuch.yaml"])
