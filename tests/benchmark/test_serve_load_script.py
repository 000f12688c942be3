"""bench/serve_load.py: its --help runs, and a tiny run (slow tier: eight server processes) answers every request
and prints a row per task, back end and setting."""

import subprocess
import sys

from tests.conftest import REPO, needs_shared_data

SCRIPT = REPO / "bench" / "serve_load.py"


def test_help_names_the_request_count():
    out = subprocess.run([sys.executable, str(SCRIPT), "--help"], cwd=REPO, capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert "--requests" in out.stdout and "load test" in out.stdout


@needs_shared_data
def test_a_tiny_run_answers_every_request():
    out = subprocess.run([sys.executable, str(SCRIPT), "--requests", "20"], cwd=REPO, capture_output=True, text=True,
                         timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    rows = [[c.strip() for c in line.strip("|").split("|")] for line in out.stdout.splitlines()
            if line.startswith(("| tagger |", "| classifier |")) and len(line.split("|")) == 10]
    assert len(rows) == 2 * 2 * 3  # tasks x back ends x (batch 32 at 1 and 16 clients, batch 1 at 16)
    assert all(row[-1] == "0" and float(row[4].replace(",", "")) > 0 for row in rows), rows
    assert "load average before" in out.stdout and "load average after" in out.stdout
