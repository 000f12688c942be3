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


def test_commits_lists_what_each_commit_added_and_skips_those_that_left_the_size_alone(tmp_path):
    def commit(files: dict[str, str], message: str) -> None:
        for name, text in files.items():
            (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
            (tmp_path / name).write_text(text)
        subprocess.run(["git", "add", "-A"], cwd=tmp_path, check=True)
        subprocess.run(["git", "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", message], cwd=tmp_path,
                       check=True)

    subprocess.run(["git", "init", "-q"], cwd=tmp_path, check=True)
    commit({"seqlit/a.py": "import os\n"}, "start")
    commit({"seqlit/a.py": "import os\n\n# why\nx = 1\ny = 2\n"}, "grow")
    commit({"README.md": "words\n"}, "docs only")
    commit({"data_modules/b.py": '"""Doc."""\n', "seqlit/a.py": "import os\n"}, "shrink")
    out = subprocess.run([sys.executable, str(REPO / "bench" / "code_size.py"), "--commits", "HEAD~3..HEAD"],
                         cwd=tmp_path, capture_output=True, text=True, timeout=120, check=True).stdout.splitlines()
    rows = [[cell.strip() for cell in line.strip("|").split("|")] for line in out[2:]]
    assert [(lines, code, subject.split(" ", 1)[1]) for lines, code, subject in rows] == \
        [("+4", "+2", "grow"), ("-3", "-2", "shrink")]


def test_help_describes_the_command_instead_of_asking_git_for_a_revision_named_help():
    out = subprocess.run([sys.executable, str(REPO / "bench" / "code_size.py"), "--help"], cwd=REPO,
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert "--commits A..B" in out.stdout and "code lines" in out.stdout
