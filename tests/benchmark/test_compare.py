"""--compare: identical results pass, a metric made worse on purpose fails with a table, directions hold."""

from __future__ import annotations

import copy
import json

import pytest

from seqlit.benchmark import command
from seqlit.benchmark.compare import compare, direction, render
from tests.conftest import REPO


def record(name="pydoc-char-gru", **metrics) -> dict:
    return {"name": name, "task": "language_modeling", "backbone": "gru", "dataset": "pydoc_topics",
            "metrics": metrics or {"test/ppl": 20.0, "test/bpc": 4.32}, "tokens_per_s": 1000.0, "wall_s": 10.0,
            "peak_mem_mb": 500.0, "params": 24000, "device": "cpu", "commit": "abc", "date": "2026-01-01T00:00:00+00:00",
            "status": "ok"}


def regressions(baseline: dict, current: dict, **kw) -> list[str]:
    diffs = compare({baseline["name"]: baseline}, {current["name"]: current}, **kw)
    return [f"{d.metric}: {d.verdict}" for d in diffs if d.regression]


def test_directions():
    assert direction("test/ppl") == direction("test/bpc") == -1
    assert direction("test/acc") == direction("test/f1") == direction("test/f1_PER") == direction("test/bleu") == 1
    assert direction("test/exact_match") == 1 and direction("test/mystery") == 0


def test_identical_results_pass():
    assert regressions(record(), record()) == []


@pytest.mark.parametrize("metrics, worse, bad", [
    ({"test/ppl": 20.0}, {"test/ppl": 21.0}, True),      # 5% higher perplexity
    ({"test/ppl": 20.0}, {"test/ppl": 20.2}, False),     # 1%: within the 2% tolerance
    ({"test/ppl": 20.0}, {"test/ppl": 15.0}, False),     # better
    ({"test/acc": 0.85}, {"test/acc": 0.80}, True),
    ({"test/acc": 0.85}, {"test/acc": 0.90}, False),
    ({"test/f1_PER": 0.9}, {"test/f1_PER": 0.8}, True),  # per-type F1 follows F1
    ({"test/mystery": 1.0}, {"test/mystery": 9.0}, False),  # unknown direction: shown, not judged
])
def test_direction_and_tolerance(metrics, worse, bad):
    assert bool(regressions(record(**metrics), record(**worse))) == bad


def test_tolerances_from_the_suite_replace_defaults():
    assert regressions(record(**{"test/ppl": 20.0}), record(**{"test/ppl": 21.0}), tolerances={"ppl": 0.1}) == []


def test_missing_metric_failed_entry_and_throughput():
    assert regressions(record(), record(**{"test/ppl": 20.0})) == ["test/bpc: REGRESSION (missing)"]
    failed = {**record(), "status": "failed (exit 1)", "metrics": {}}
    assert regressions(record(), failed) == ["(entry): REGRESSION (failed (exit 1))"]
    slow = {**record(), "tokens_per_s": 400.0}
    assert regressions(record(), slow) == ["tokens_per_s: REGRESSION"]  # default: at most a 50% drop
    assert regressions(record(), slow, max_throughput_drop=None) == []


def test_new_entries_are_listed_not_failed():
    diffs = compare({}, {"sst2-bigru": record("sst2-bigru")})
    assert [d.verdict for d in diffs] == ["new"]


def test_table_shows_each_difference():
    table = render(compare({"e": record("e")}, {"e": record("e", **{"test/ppl": 30.0, "test/bpc": 4.32})}))
    row = next(line for line in table.splitlines() if "test/ppl" in line)
    assert "20" in row and "30" in row and "+50.00%" in row and "REGRESSION" in row


def _fake_run(tmp_path, monkeypatch, capsys, baseline_rows: list[dict]) -> tuple[int, str]:
    """`benchmark --compare` through the command, with training replaced by a canned result."""
    produced = record()
    monkeypatch.setattr(command, "run_entry", lambda entry, suite, out, root: copy.deepcopy(produced))
    baseline = tmp_path / "baseline.jsonl"
    baseline.write_text("".join(json.dumps(r) + "\n" for r in baseline_rows))
    monkeypatch.chdir(REPO)
    args = ["--suite", "configs/benchmarks/tiny.yaml", "--only", "pydoc-char-gru", "--out", str(tmp_path / "out"),
            "--compare", str(baseline), "--wandb", "false"]
    try:
        command.main(args)
        code = 0
    except SystemExit as stop:
        code = stop.code
    return code, capsys.readouterr().out


def test_command_passes_on_identical_results(tmp_path, monkeypatch, capsys):
    code, out = _fake_run(tmp_path, monkeypatch, capsys, [record()])
    assert code == 0 and "0 regression(s)" in out
    assert (tmp_path / "out" / "results.jsonl").is_file() and (tmp_path / "out" / "leaderboard.md").is_file()


def test_command_fails_when_a_metric_is_made_worse(tmp_path, monkeypatch, capsys):
    better_baseline = record(**{"test/ppl": 15.0, "test/bpc": 3.9})  # so this run's 20.0 / 4.32 is worse
    code, out = _fake_run(tmp_path, monkeypatch, capsys, [better_baseline])
    assert code == 1 and "2 regression(s)" in out
    assert "| pydoc-char-gru | test/ppl" in out and "REGRESSION" in out
