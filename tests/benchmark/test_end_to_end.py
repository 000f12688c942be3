"""Real tiny entries through `python -m seqlit benchmark`: compared with the committed baseline, and over seeds.

This is CI's regression check: the same seed and steps must give the
baseline's test metrics (within the suite's tolerances). Throughput is not
compared here: on a shared 2-core machine it swings by more than any useful
tolerance (see configs/benchmarks/tiny.yaml). The committed baseline comes
from a clean commit (the command is in configs/benchmarks/tiny.yaml), so no
dirty-tree allowance is asked for.
"""

from __future__ import annotations

import glob
import json

import yaml

from seqlit.benchmark import compare, leaderboard, results
from seqlit.benchmark.seeds import summarize
from tests.conftest import REPO, run_seqlit

BASELINE = REPO / "results" / "tiny" / "results.jsonl"
FIELDS = {"name", "task", "backbone", "dataset", "metrics", "tokens_per_s", "wall_s", "peak_mem_mb", "params",
          "device", "host", "commit", "dirty", "torch", "lightning", "command", "date", "seed", "run_id", "model", "cpu_share"}


def test_tiny_entry_matches_the_committed_baseline(tmp_path):
    out = tmp_path / "tiny"
    proc = run_seqlit("benchmark", "--suite", "configs/benchmarks/tiny.yaml", "--only", "pydoc-char-gru",
                      "--out", str(out), "--compare", str(BASELINE), "--compare_throughput", "false", cwd=REPO)
    assert "0 failure(s)" in proc.stdout, proc.stdout[-3000:]

    rows = [json.loads(line) for line in (out / "results.jsonl").read_text().splitlines()]
    assert len(rows) == 1 and FIELDS <= set(rows[0])
    row = rows[0]
    assert (row["name"], row["task"], row["backbone"], row["dataset"]) == (
        "pydoc-char-gru", "language_modeling", "gru", "pydoc_topics")
    assert set(row["metrics"]) == {"test/ppl", "test/bpc", "test/loss"} and row["tokens_per_s"] > 0
    assert row["params"] > 0 and row["peak_mem_mb"] > 100 and row["device"].startswith("cpu")
    assert row["target"] == {"metric": "val/bpc", "value": 4.8} and row["steps_to_target"] in (15, 30, None)
    assert (row["time_to_target_s"] is None) == (row["steps_to_target"] is None)
    assert isinstance(row["dirty"], bool) and len(row["commit"]) == 12 and row["command"].startswith("OMP_NUM_THREADS=1 ")

    assert "pydoc-char-gru" in (out / "leaderboard.md").read_text()
    assert (out / "leaderboard.png").read_bytes().startswith(b"\x89PNG")
    assert len(glob.glob(str(out / "wandb" / "offline-run-*"))) == 2  # the entry, and the summary table


def test_an_entry_with_seeds_runs_each_and_reports_the_spread(tmp_path):
    suite = yaml.safe_load((REPO / "configs" / "benchmarks" / "tiny.yaml").read_text())
    suite["entries"] = [{"name": "pydoc-char-gru", "dataset": "pydoc_topics", "seeds": [0, 1]}]
    suite["defaults"]["budget"]["max_steps"] = 15
    path = tmp_path / "seeds.yaml"
    path.write_text(yaml.safe_dump(suite))
    out = tmp_path / "out"
    run_seqlit("benchmark", "--suite", str(path), "--out", str(out), "--wandb", "false", cwd=REPO)

    rows = results.read(str(out / "results.jsonl"))
    assert [r["seed"] for r in rows] == [0, 1] and rows[0]["run_id"] == rows[1]["run_id"]
    assert rows[0]["metrics"]["test/bpc"] != rows[1]["metrics"]["test/bpc"]  # the seed reaches the model
    board = (out / "leaderboard.md").read_text()
    low, high = sorted(r["metrics"]["test/bpc"] for r in rows)
    assert f"({leaderboard.fmt(low)}–{leaderboard.fmt(high)}, n=2)" in board and " ± " in board

    baseline, _ = results.baselines(rows, allow_dirty=True)
    run = {name: summarize(r) for name, r in baseline.items()}
    diffs = compare.compare(run, run, max_throughput_drop=None)
    assert {d.verdict for d in diffs if d.metric.startswith("test/")} == {"same"} and not any(d.failed for d in diffs)
