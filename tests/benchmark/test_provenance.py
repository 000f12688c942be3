"""Provenance: a tree is dirty when a tracked file changed (not for untracked files), read once per benchmark."""

from __future__ import annotations

import os
import subprocess

from seqlit.benchmark import command, provenance
from tests.benchmark.test_compare import record
from tests.conftest import REPO

QUICK = REPO / "configs" / "quickstart.yaml"


def git(cwd, *args):
    subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True)


def test_dirty_means_a_tracked_file_changed(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert provenance.collect()["commit"] == "unknown" and provenance.collect()["dirty"] is None  # not a checkout
    git(tmp_path, "init", "-q")
    (tmp_path / "a.txt").write_text("1")
    git(tmp_path, "add", "a.txt")
    git(tmp_path, "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "a")
    source = provenance.collect()
    assert len(source["commit"]) == 12 and source["dirty"] is False and source["torch"] and source["lightning"]
    (tmp_path / "untracked.txt").write_text("x")
    assert provenance.collect()["dirty"] is False
    (tmp_path / "a.txt").write_text("2")
    assert provenance.collect()["dirty"] is True


def test_the_command_reads_provenance_once_before_writing(tmp_path, monkeypatch, capsys):
    calls = []
    monkeypatch.setattr(provenance, "collect", lambda: calls.append((tmp_path / "out").exists()) or
                        {"commit": "c", "dirty": False})
    seen = []
    monkeypatch.setattr(command, "run_entry", lambda *a, **kw: seen.append(kw["provenance"]) or record())
    monkeypatch.setattr(command.preflight, "check_configs", lambda *a, **kw: None)  # test_preflight.py's concern
    monkeypatch.chdir(tmp_path)
    (tmp_path / "s.yaml").write_text(f"suite: s\ndefaults: {{config: {QUICK}, budget: {{max_steps: 1}}}}\n"
                                     "entries:\n  - {name: a, dataset: x, seeds: [0, 1]}\n  - {name: b, dataset: x}\n")
    command.main(["--suite", "s.yaml", "--out", str(tmp_path / "out"), "--wandb", "false"])
    assert calls == [False] and seen == [{"commit": "c", "dirty": False}] * 3


def test_host_names_the_processor_and_the_cores_this_process_may_use():
    model, cores = provenance.host().rsplit(", ", 1)
    assert model and model != "unknown processor"
    assert cores == f"{len(os.sched_getaffinity(0))} cores"
    assert provenance.collect()["host"] == provenance.host()
