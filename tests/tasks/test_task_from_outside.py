"""A task from outside seqlit in two files (outside_task.py, outside_data.py): it fits, validates, tests, predicts,
writes results.json and runs as a benchmark entry with its own headline metric, with no edit under seqlit/ or
data_modules/. Its checkpoints name a class outside seqlit's packages: SEQLIT_TRUSTED_PACKAGES lets them load."""

from __future__ import annotations

import json

import yaml

from seqlit.benchmark import compare, leaderboard, results
from seqlit.benchmark.seeds import summarize
from tests.conftest import REPO, run_seqlit

TRUST = {"SEQLIT_TRUSTED_PACKAGES": "tests.tasks"}
CONFIG = {
    "seed_everything": 0,
    "model": {"class_path": "tests.tasks.outside_task.Counter"},
    "data": {"class_path": "tests.tasks.outside_data.CountingData", "init_args": {"size": 48}},
    "trainer": {"max_steps": 12, "max_epochs": 4, "val_check_interval": 1.0, "enable_progress_bar": False,
                "enable_model_summary": False},
}


def test_a_task_from_outside_fits_tests_predicts_and_loads_only_when_trusted(tmp_path):
    config = tmp_path / "counting.yaml"
    config.write_text(yaml.safe_dump(CONFIG))
    root = tmp_path / "run"
    run_seqlit("fit", "--config", str(config), "--trainer.default_root_dir", str(root), "--trainer.logger", "false",
               "--test_after_fit", "true", cwd=REPO, env=TRUST)
    res = json.loads((root / "results.json").read_text())
    assert res["model"]["task"] == "counting" and res["model"]["label"] == "gru"
    assert res["model"]["scoring"] == {"headline": "test/mae", "directions": {"loss": -1, "mae": -1}}
    assert {"val/mae", "train/tokens_per_s"} <= set(res["metrics"]) and res["tokens_per_s"] > 0
    tested = res["evaluations"][0]  # without a logger, the test of the best checkpoint is added to its run
    assert tested["stage"] == "test" and {"test/mae", "test/loss"} <= set(tested["metrics"])

    ckpt = str(root / "checkpoints" / "last.ckpt")
    refused = run_seqlit("validate", "--ckpt_path", ckpt, cwd=REPO, check=False)
    assert refused.returncode == 2 and "SEQLIT_TRUSTED_PACKAGES" in refused.stderr.strip().splitlines()[-1]
    run_seqlit("validate", "--ckpt_path", ckpt, cwd=REPO, env=TRUST)
    evaluations = json.loads((root / "results.json").read_text())["evaluations"]
    assert [e["stage"] for e in evaluations] == ["test", "validate"] and "val/mae" in evaluations[1]["metrics"]

    lines = tmp_path / "lines.txt"
    lines.write_text("a a b\n\nb b b a\n")
    out = tmp_path / "out.jsonl"
    shown = run_seqlit("predict", "--ckpt_path", ckpt, "--data.init_args.predict_file", str(lines),
                       "--predict_output", str(out), cwd=REPO, env=TRUST)
    records = [json.loads(line) for line in out.read_text().splitlines()]
    assert [r["index"] for r in records] == [0, 1, 2] and records[1] == {"index": 1, "skipped": "blank line"}
    assert all(isinstance(r["count"], float) for r in (records[0], records[2]))
    assert f"a a b\n  {records[0]['count']:.1f} a's" in shown.stdout  # the task's own rendering


def test_a_task_from_outside_is_a_benchmark_entry_with_its_own_headline(tmp_path):
    config = tmp_path / "counting.yaml"
    config.write_text(yaml.safe_dump(CONFIG))
    suite = tmp_path / "suite.yaml"
    suite.write_text(yaml.safe_dump({
        "suite": "outside", "env": {"OMP_NUM_THREADS": "1", **TRUST},
        "defaults": {"config": str(config), "budget": {"max_steps": 12}},
        "entries": [{"name": "counting-gru", "dataset": "counting"}]}))
    out = tmp_path / "out"
    run_seqlit("benchmark", "--suite", str(suite), "--out", str(out), "--wandb", "false", cwd=REPO, env=TRUST)

    rows = results.read(str(out / "results.jsonl"))
    assert [(r["name"], r["task"], r["backbone"], r["status"]) for r in rows] == [("counting-gru", "counting", "gru", "ok")]
    assert leaderboard.primary(rows[0]) == "test/mae"
    board = (out / "leaderboard.md").read_text()
    assert "| counting · counting (mae ↓) |" in board

    run = {name: summarize(r) for name, r in results.baselines(rows, allow_dirty=True)[0].items()}
    worse = {"counting-gru": {**run["counting-gru"], "metrics": {
        **run["counting-gru"]["metrics"], "test/mae": summarize([{**rows[0], "metrics": {
            "test/mae": rows[0]["metrics"]["test/mae"] * 2}}])["metrics"]["test/mae"]}}}
    verdicts = {d.metric: d.verdict for d in compare.compare(run, worse, max_throughput_drop=None)}
    assert verdicts["test/mae"] == "REGRESSION"  # twice the error is worse: the task's direction, not seqlit's table
