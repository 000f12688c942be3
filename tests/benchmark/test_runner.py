"""The runner builds a record from the run's results.json (never its log): description, target, provenance."""

from __future__ import annotations

import json
import math
import os

import pytest

from seqlit.benchmark import runner
from seqlit.benchmark.runner import run_entry, time_to_target
from seqlit.benchmark.schema import Entry
from seqlit.nn import Recurrent
from tests.core.plugin_backbone import LeakyAverage

HISTORY = [{"step": 15, "time_s": 3.0, "metrics": {"val/f1": 0.85, "val/bpc": 4.8}},
           {"step": 30, "time_s": 6.5, "metrics": {"val/f1": 0.91, "val/bpc": 4.5}},
           {"step": 45, "time_s": 9.0, "metrics": {"val/f1": 0.93, "val/bpc": 4.4}}]


@pytest.mark.parametrize("target, expected", [
    ({"metric": "val/f1", "value": 0.90}, (6.5, 30)),    # higher is better: first pass at or above
    ({"metric": "val/f1", "value": 0.85}, (3.0, 15)),    # reached exactly
    ({"metric": "val/bpc", "value": 4.5}, (6.5, 30)),    # lower is better: first pass at or below
    ({"metric": "val/f1", "value": 0.99}, (None, None)),  # never reached
    ({"metric": "val/acc", "value": 0.5}, (None, None)),  # never logged
])
def test_time_to_target(target, expected):
    assert time_to_target(HISTORY, target) == expected


def test_nan_never_reaches_a_target():
    assert time_to_target([{"step": 1, "time_s": 1.0, "metrics": {"val/ppl": math.nan}}],
                          {"metric": "val/ppl", "value": 100.0}) == (None, None)


@pytest.mark.parametrize("backbone, head, label", [
    (Recurrent(3, "lstm", 4, bidirectional=True), "crf", "bilstm-crf"),
    (Recurrent(3, "gru", 4, num_layers=2, backend="scratch"), None, "grux2-scratch"),
    (LeakyAverage(3), "attn", "LeakyAverage-attn"),
])
def test_the_leaderboard_label_is_the_backbones_own(backbone, head, label):
    assert backbone.label(head) == label


def fake_child(results: dict | None, code: int = 0):
    """A child process that writes `results` to its run folder and a log that says something else."""
    def run(cmd, env, log_path):
        folder = log_path.removesuffix(".log")
        os.makedirs(folder, exist_ok=True)
        with open(log_path, "w") as f:
            f.write("[seqlit] device: cuda: a GPU from the log\n[seqlit] best checkpoint: /from/the/log.ckpt\n")
        if results is not None:
            with open(os.path.join(folder, "results.json"), "w") as f:
                json.dump(results, f)
        return code, 12.0, 600.0, 9.0  # 9 CPU seconds in 12 s on one thread
    return run


RESULTS = {"stages": ["fit", "test"], "metrics": {"val/f1": 0.93, "test/f1": 0.9, "test/f1_PER": 0.95,
                                                   "train/loss": 0.1, "train/tokens_per_s": 1234.56},
           "tokens_per_s": 1234.56, "best_checkpoint": "/runs/best.ckpt", "device": "cpu: 1 threads",
           "model": {"task": "tagging", "backbone": {"kind": "lstm", "bidirectional": True, "num_layers": 1,
                                                    "backend": "fused"}, "label": "bilstm", "params": 4321},
           "validation": HISTORY}
ENTRY = Entry(name="conll-bilstm", configs=("c.yaml",), dataset="conll", budget={"max_steps": 3},
              target={"metric": "val/f1", "value": 0.9}, env={"OMP_NUM_THREADS": "1"})
SOURCE = {"commit": "0123456789ab", "dirty": False, "torch": "2.x", "lightning": "2.y", "python": "3.z"}


def test_the_record_comes_from_results_json(tmp_path, monkeypatch):
    monkeypatch.setattr(runner, "run_child", fake_child(RESULTS))
    row = run_entry(ENTRY, "s", str(tmp_path), None, seed=1, run_id="r1", provenance=SOURCE)
    assert row["status"] == "ok" and (row["task"], row["backbone"], row["params"]) == ("tagging", "bilstm", 4321)
    assert row["metrics"] == {"test/f1": 0.9, "test/f1_PER": 0.95} and row["tokens_per_s"] == 1234.6
    assert row["device"] == "cpu: 1 threads" and row["best_checkpoint"] == "/runs/best.ckpt"  # not the log's
    assert (row["time_to_target_s"], row["steps_to_target"]) == (6.5, 30)
    assert (row["seed"], row["run_id"]) == (1, "r1") and row["log"].endswith("-seed1.log")
    assert {k: row[k] for k in SOURCE} == SOURCE
    assert row["command"].startswith("OMP_NUM_THREADS=1 ") and "--seed_everything 1" in row["command"]
    assert row["cpu_share"] == 0.75  # 9 CPU seconds over 12 s of its one thread: something else shared the core


def test_a_run_without_results_json_failed(tmp_path, monkeypatch):
    monkeypatch.setattr(runner, "run_child", fake_child(None))
    assert run_entry(ENTRY, "s", str(tmp_path), None)["status"] == "failed (no results.json)"
    monkeypatch.setattr(runner, "run_child", fake_child(RESULTS, code=3))
    row = run_entry(ENTRY, "s", str(tmp_path), None)
    assert row["status"] == "failed (exit 3)"


def test_the_announced_log_path_is_the_real_one(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(runner, "run_child", fake_child(RESULTS))
    row = run_entry(ENTRY, "s", str(tmp_path), None, seed=1, announce="[benchmark] 1/1 conll-bilstm")
    (line,) = capsys.readouterr().out.splitlines()
    logged = line.split("(log: ", 1)[1].rstrip(")")
    assert line.startswith("[benchmark] 1/1 conll-bilstm (log: ") and "<version>" not in line
    assert os.path.samefile(logged, tmp_path / row["log"])
