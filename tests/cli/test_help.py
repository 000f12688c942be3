"""`python -m seqlit --help` and a bare `python -m seqlit` list every command, one line each; a misspelt command gets
the nearest one; and each listed command answers its own `--help`."""

from __future__ import annotations

import pytest

from tests.conftest import run_seqlit

EVERY_COMMAND = ["fit", "validate", "test", "predict", "generate", "benchmark", "export", "serve"]


def listed(text: str) -> list[str]:
    """The command names of the help's `commands:` block, in order (each line: name, then what it does)."""
    block = text.split("commands:\n", 1)[1].split("\n\n", 1)[0]
    rows = [line.split(None, 1) for line in block.splitlines()]
    assert all(len(row) == 2 for row in rows), block
    return [name for name, _ in rows]


def test_help_lists_every_command(tmp_path):
    proc = run_seqlit("--help", cwd=tmp_path)
    assert listed(proc.stdout) == EVERY_COMMAND
    assert "Lightning Trainer command line tool" not in proc.stdout


def test_bare_command_lists_every_command_and_fails(tmp_path):
    proc = run_seqlit(cwd=tmp_path, check=False)
    assert proc.returncode == 2
    assert listed(proc.stderr) == EVERY_COMMAND


@pytest.mark.parametrize("typed, nearest", [("fitt", "fit"), ("tset", "test"), ("genrate", "generate"),
                                            ("benchmarks", "benchmark")])
def test_misspelt_command_gets_the_nearest(tmp_path, typed, nearest):
    proc = run_seqlit(typed, cwd=tmp_path, check=False)
    (line,) = proc.stderr.splitlines()
    assert proc.returncode == 2 and f"did you mean '{nearest}'?" in line


@pytest.mark.parametrize("command", EVERY_COMMAND)
def test_each_listed_command_has_its_own_help(tmp_path, command):
    proc = run_seqlit(command, "--help", cwd=tmp_path)
    assert "usage: python -m seqlit" in proc.stdout and command in proc.stdout.splitlines()[0]


def test_benchmark_help_needs_neither_lightning_nor_torch(tmp_path):
    """`benchmark --help` (and the top-level help) import only seqlit's light modules: quick on a busy machine."""
    code = ("import sys; from seqlit.cli.main import main\n"
            "try:\n    main(['benchmark', '--help'])\nexcept SystemExit:\n    pass\n"
            "heavy = [m for m in ('torch', 'pytorch_lightning', 'lightning_fabric', 'matplotlib') if m in sys.modules]\n"
            "print('heavy:', heavy)")
    proc = run_python(code, tmp_path)
    assert "heavy: []" in proc.stdout, proc.stdout[-500:]


def run_python(code: str, cwd):
    import os
    import subprocess
    import sys

    from tests.conftest import REPO

    return subprocess.run([sys.executable, "-c", code], cwd=cwd, capture_output=True, text=True, timeout=120,
                          env={**os.environ, "PYTHONPATH": str(REPO)})
