"""`--trainer.default_root_dir` below a regular file: one line naming the file, exit 2, before anything is trained."""

from __future__ import annotations

import time

from tests.conftest import REPO, run_seqlit


def test_root_below_a_file_on_the_command_line(tmp_path):
    (tmp_path / "notes.txt").write_text("a file, not a folder\n")
    start = time.monotonic()
    proc = run_seqlit("fit", "--config", str(REPO / "configs" / "quickstart.yaml"),
                      "--trainer.default_root_dir", "notes.txt/runs/x", cwd=tmp_path, check=False)
    assert proc.returncode == 2, proc.stderr[-2000:]
    assert "Traceback" not in proc.stderr
    assert f"{tmp_path / 'notes.txt'} is a file, not a folder" in proc.stderr
    assert time.monotonic() - start < 60  # refused before torch is imported (seconds), not after an import and a fit
    assert sorted(p.name for p in tmp_path.iterdir()) == ["notes.txt"]  # nothing written


def test_root_below_a_file_in_a_config(tmp_path):
    (tmp_path / "notes.txt").write_text("a file\n")
    (tmp_path / "root.yaml").write_text("trainer:\n  default_root_dir: notes.txt/runs\n")
    proc = run_seqlit("fit", "--config", str(REPO / "configs" / "quickstart.yaml"), "--config", "root.yaml",
                      cwd=tmp_path, check=False)
    assert proc.returncode == 2, proc.stderr[-2000:]
    assert "Traceback" not in proc.stderr
    assert f"{tmp_path / 'notes.txt'} is a file, not a folder" in proc.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["notes.txt", "root.yaml"]
