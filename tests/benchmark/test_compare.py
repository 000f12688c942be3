"""--compare: identical results pass; anything worse, missing, non-finite, new or unjudgeable fails, naming entry and metric."""

from __future__ import annotations

import copy
import json
import math

import pytest

from seqlit.benchmark import command
from seqlit.benchmark.compare import compare, direction, noise, render
from seqlit.benchmark.seeds import stat, summarize
from tests.conftest import REPO


def record(name="pydoc-char-gru", seed=None, run_id=None, **metrics) -> dict:
    return {"name": name, "task": "LanguageModel", "backbone": "gru", "dataset": "pydoc_topics", "seed": seed,
            "metrics": metrics or {"test/ppl": 20.0, "test/bpc": 4.32}, "tokens_per_s": 1000.0, "wall_s": 10.0,
            "peak_mem_mb": 500.0, "params": 24000, "device": "cpu", "host": "Test CPU, 2 cores", "commit": "abc", "dirty": False,
            "date": "2026-01-01T00:00:00+00:00", "status": "ok", "run_id": run_id}


def failures(baseline: list[dict], current: list[dict], **kw) -> list[str]:
    """`entry metric: verdict` of every failing difference; each side is one run (its seed records)."""
    diffs = compare({baseline[0]["name"]: summarize(baseline)}, {current[0]["name"]: summarize(current)}, **kw)
    return [f"{d.entry} {d.metric}: {d.verdict}" for d in diffs if d.failed]


def test_directions():
    assert direction("test/ppl") == direction("test/bpc") == -1
    assert direction("test/acc") == direction("test/f1") == direction("test/f1_PER") == direction("test/bleu") == 1
    assert direction("test/exact_match") == 1 and direction("test/mystery") == 0


def test_identical_results_pass():
    assert failures([record()], [record()]) == []


@pytest.mark.parametrize("metrics, worse, bad", [
    ({"test/ppl": 20.0}, {"test/ppl": 21.0}, True),      # 5% higher perplexity
    ({"test/ppl": 20.0}, {"test/ppl": 20.2}, False),     # 1%: within the 2% tolerance
    ({"test/ppl": 20.0}, {"test/ppl": 15.0}, False),     # better
    ({"test/acc": 0.85}, {"test/acc": 0.80}, True),
    ({"test/acc": 0.85}, {"test/acc": 0.90}, False),
    ({"test/f1_PER": 0.9}, {"test/f1_PER": 0.8}, True),  # per-type F1 follows F1
])
def test_direction_and_tolerance(metrics, worse, bad):
    assert bool(failures([record(**metrics)], [record(**worse)])) == bad


def test_tolerances_from_the_suite_replace_defaults():
    assert failures([record(**{"test/ppl": 20.0})], [record(**{"test/ppl": 21.0})], tolerances={"ppl": 0.1}) == []


@pytest.mark.parametrize("value", [math.nan, math.inf, -math.inf])
def test_a_non_finite_metric_fails(value):
    assert failures([record(**{"test/ppl": 5.0})], [record(**{"test/ppl": value})]) == [
        "pydoc-char-gru test/ppl: FAIL: not a finite number"]


def test_a_non_finite_new_metric_fails_too():
    assert failures([record(**{"test/ppl": 5.0})], [record(**{"test/ppl": 5.0, "test/bpc": math.nan})]) == [
        "pydoc-char-gru test/bpc: FAIL: not a finite number"]


def test_a_metric_without_known_direction_fails():
    assert failures([record(**{"test/mystery": 1.0})], [record(**{"test/mystery": 1.0})]) == [
        "pydoc-char-gru test/mystery: FAIL: no known direction (families: acc, auroc, bleu, bpc, exact_match, f1, "
        "loss, nll, ppl, precision, recall)"]


def test_missing_metric_failed_entry_and_throughput():
    assert failures([record()], [record(**{"test/ppl": 20.0})]) == ["pydoc-char-gru test/bpc: FAIL: missing from this run"]
    failed = {**record(), "status": "failed (exit 1)", "metrics": {}}
    assert failures([record()], [failed]) == ["pydoc-char-gru (entry): FAIL: entry failed (exit 1)"]
    slow = {**record(), "tokens_per_s": 400.0}
    assert failures([record()], [slow]) == ["pydoc-char-gru tokens_per_s: REGRESSION"]  # default: at most a 50% drop
    assert failures([record()], [slow], max_throughput_drop=None) == []


@pytest.mark.parametrize("base_host, run_host, why", [
    ("Test CPU, 2 cores", "Other CPU, 2 cores", "baseline on Test CPU, 2 cores, this run on Other CPU, 2 cores"),
    ("Test CPU, 2 cores", "Test CPU, 4 cores", "baseline on Test CPU, 2 cores, this run on Test CPU, 4 cores"),
    (None, "Test CPU, 2 cores", "the baseline does not name its host"),
])
def test_throughput_is_judged_only_between_runs_on_one_named_host(base_host, run_host, why):
    """A wall-time budget on a slower machine is not a slower commit: tokens/s are shown, not judged, and the
    quality figures still are."""
    base = {**record(), "host": base_host}
    slow = {**record(**{"test/ppl": 30.0, "test/bpc": 4.32}), "tokens_per_s": 400.0, "host": run_host}
    diffs = compare({"pydoc-char-gru": summarize([base])}, {"pydoc-char-gru": summarize([slow])})
    verdicts = {d.metric: (d.verdict, d.failed) for d in diffs}
    assert verdicts["tokens_per_s"] == (f"not compared ({why})", False)
    assert verdicts["test/ppl"] == ("REGRESSION", True)


def test_entries_missing_from_the_run_or_from_the_baseline_fail():
    base = {"a": summarize([record("a")]), "b": summarize([record("b")])}
    diffs = compare(base, {"a": summarize([record("a")]), "c": summarize([record("c")])}, expected={"a", "b"})
    assert [(d.entry, d.verdict) for d in diffs if d.failed] == [
        ("b", "FAIL: in the baseline, missing from this run"),
        ("c", "FAIL: no baseline (--allow_new accepts a new entry)")]
    allowed = compare(base, {"c": summarize([record("c")])}, allow_new=True)
    assert [(d.entry, d.verdict, d.failed) for d in allowed] == [("c", "new (--allow_new)", False)]


def seeds(name: str, values: list[float]) -> list[dict]:
    return [record(name, seed=i, run_id="r", **{"test/acc": v}) for i, v in enumerate(values)]


def verdict(base: list[dict], cur: list[dict]) -> str:
    return [d.verdict for d in compare({"e": summarize(base)}, {"e": summarize(cur)}) if d.metric == "test/acc"][0]


def test_better_is_held_to_the_regression_bar():
    base = seeds("e", [0.84, 0.86, 0.85])  # sd 0.01, allowance ~0.016
    assert verdict(base, seeds("e", [0.85, 0.87, 0.86])) == "within seed noise"  # +1.2%: past 1%, not past the noise
    assert verdict(base, seeds("e", [0.85, 0.853, 0.857])) == "within tolerance"  # +0.4%
    assert verdict(base, seeds("e", [0.89, 0.90, 0.91])) == "better"
    assert verdict(base, base) == "same"


def test_seeds_compare_means_and_the_noise_widens_the_allowance():
    base = seeds("e", [0.84, 0.86, 0.85])  # sd 0.01
    # mean 0.835: 1.8% worse than 0.85, beyond the 1% tolerance, but within twice the standard error (0.0163)
    noisy = seeds("e", [0.82, 0.84, 0.845])
    assert noise(summarize(base)["metrics"]["test/acc"], summarize(noisy)["metrics"]["test/acc"]) > 0.85 - 0.835
    assert failures(base, noisy) == []
    assert verdict(base, noisy) == "within seed noise"
    # mean 0.80: worse than both the tolerance and the noise
    assert failures(base, seeds("e", [0.79, 0.80, 0.81])) == ["e test/acc: REGRESSION"]
    # one seed without the metric: missing, even though the mean of the others would pass
    partial = seeds("e", [0.85, 0.85, 0.85])
    partial[2]["metrics"] = {}
    assert failures(base, partial) == ["e test/acc: FAIL: missing from this run"]


def test_no_spread_no_noise():
    assert noise(stat([0.85]), stat([0.80])) == 0.0


def test_table_shows_each_difference():
    table = render(compare({"e": summarize([record("e")])},
                           {"e": summarize([record("e", **{"test/ppl": 30.0, "test/bpc": 4.32})])}))
    row = next(line for line in table.splitlines() if "test/ppl" in line)
    assert "20" in row and "30" in row and "+50.00%" in row and "REGRESSION" in row
    seeded = render(compare({"e": summarize(seeds("e", [0.84, 0.86]))}, {"e": summarize(seeds("e", [0.85, 0.85]))}))
    assert "0.85 ± 0.014 (n=2)" in seeded


def _fake_run(tmp_path, monkeypatch, capsys, baseline_rows: list[dict], produced: dict | None = None,
              extra: tuple[str, ...] = ()) -> tuple[int, str]:
    """`benchmark --compare` through the command, with training replaced by a canned result."""
    produced = produced or record()
    monkeypatch.setattr(command, "run_entry", lambda *a, **kw: copy.deepcopy(produced))
    # the configs' check is a child process of ~10 s; tests/benchmark/test_preflight.py proves it
    monkeypatch.setattr(command.preflight, "check_configs", lambda *a, **kw: None)
    baseline = tmp_path / "baseline.jsonl"
    baseline.write_text("".join(json.dumps(r) + "\n" for r in baseline_rows))
    monkeypatch.chdir(REPO)
    args = ["--suite", "configs/benchmarks/tiny.yaml", "--only", "pydoc-char-gru", "--out", str(tmp_path / "out"),
            "--compare", str(baseline), "--wandb", "false", *extra]
    try:
        command.main(args)
        code = 0
    except SystemExit as stop:
        code = stop.code
    return code, capsys.readouterr().out


def test_command_passes_on_identical_results(tmp_path, monkeypatch, capsys):
    code, out = _fake_run(tmp_path, monkeypatch, capsys, [record()])
    assert code == 0 and "0 failure(s)" in out
    assert (tmp_path / "out" / "results.jsonl").is_file() and (tmp_path / "out" / "leaderboard.md").is_file()


def test_command_fails_when_a_metric_is_made_worse(tmp_path, monkeypatch, capsys):
    better_baseline = record(**{"test/ppl": 15.0, "test/bpc": 3.9})  # so this run's 20.0 / 4.32 is worse
    code, out = _fake_run(tmp_path, monkeypatch, capsys, [better_baseline])
    assert code == 1 and "2 failure(s)" in out
    assert "| pydoc-char-gru | test/ppl" in out and "REGRESSION" in out


def test_command_fails_on_nan_even_against_a_baseline_of_other_entries(tmp_path, monkeypatch, capsys):
    nan_run = record(**{"test/ppl": math.nan, "test/bpc": math.nan})
    code, out = _fake_run(tmp_path, monkeypatch, capsys, [record(**{"test/ppl": 5.0, "test/bpc": 2.3})], nan_run)
    assert code == 1 and "test/ppl" in out and "FAIL: not a finite number" in out
    code, out = _fake_run(tmp_path, monkeypatch, capsys, [record("pydoc-char-lstm")])
    assert code == 1 and "FAIL: no baseline" in out
    code, _ = _fake_run(tmp_path, monkeypatch, capsys, [record("pydoc-char-lstm")], extra=("--allow_new",))
    assert code == 0


def test_a_newer_failed_run_is_no_baseline_and_the_report_says_so(tmp_path, monkeypatch, capsys):
    good = record(**{"test/ppl": 15.0, "test/bpc": 3.9}, run_id="old")
    failed = {**record(run_id="new"), "status": "failed (exit 1)", "metrics": {}, "date": "2026-02-01T00:00:00+00:00"}
    code, out = _fake_run(tmp_path, monkeypatch, capsys, [good, failed])
    assert code == 1 and "REGRESSION" in out  # judged against the older successful run, not waved through
    assert "pydoc-char-gru: the run of 2026-02-01T00:00:00 at abc failed; it is not a baseline" in out


def test_a_dirty_baseline_is_refused_unless_asked(tmp_path, monkeypatch, capsys):
    dirty = {**record(), "dirty": True}
    code, out = _fake_run(tmp_path, monkeypatch, capsys, [dirty])
    assert code == 1 and "is from a dirty tree" in out and "FAIL: no baseline" in out
    code, out = _fake_run(tmp_path, monkeypatch, capsys, [dirty], extra=("--allow_dirty_baseline",))
    assert code == 0 and "0 failure(s)" in out
    old_style = {**record(), "commit": "40493538f8dc-dirty"}
    del old_style["dirty"]
    code, out = _fake_run(tmp_path, monkeypatch, capsys, [old_style])
    assert code == 1 and "is from a dirty tree" in out


def test_records_of_another_suite_are_neither_baseline_nor_expected(tmp_path, monkeypatch, capsys):
    """results/cpu holds the cpu and cpu_sweep suites' records side by side: each suite is judged by its own."""
    other = {**record("wikitext2-gru"), "suite": "cpu_sweep"}
    same_name_other_suite = {**record(**{"test/ppl": 15.0, "test/bpc": 3.9}), "suite": "cpu_sweep"}
    code, out = _fake_run(tmp_path, monkeypatch, capsys, [record(), other, same_name_other_suite])
    assert code == 0 and "0 failure(s)" in out and "wikitext2-gru" not in out
