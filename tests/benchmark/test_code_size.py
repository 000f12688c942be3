"""bench/code_size.py measures the size budget of the modular-core issue: its counts must mean what they say."""

import importlib.util
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
spec = importlib.util.spec_from_file_location("code_size", REPO / "bench" / "code_size.py")
code_size = importlib.util.module_from_spec(spec)
spec.loader.exec_module(code_size)


def test_docstrings_comments_and_blank_lines_are_not_code():
    source = '"""Module\n\ndocstring."""\n\n# a comment\nimport os\n\n\ndef f(x):\n    """Doc."""\n    return (x +\n            1)  # trailing\n'
    assert code_size.code_lines(source) == 4  # import, def, and the two lines of the return


def test_prints_a_row_per_folder_and_a_total_for_each_revision():
    out = subprocess.run([sys.executable, str(REPO / "bench" / "code_size.py"), "HEAD"], cwd=REPO,
                         capture_output=True, text=True, timeout=120, check=True).stdout.splitlines()
    rows = {line.split(" | ")[0].lstrip("| "): line for line in out[2:]}
    assert {"seqlit/tasks", "seqlit/nn", "data_modules", "total"} <= set(rows)
    lines, code = (int(x.replace(",", "")) for x in rows["total"].split(" | ")[1].rstrip(" |").split(" / "))
    assert lines > code > 0
