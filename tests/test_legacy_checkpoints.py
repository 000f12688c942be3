"""Checkpoints written by seqlit 0.1 (before the modular core) still load, test to the same metrics and predict
the same outputs. The fixtures were made by `tests/fixtures/legacy/make_fixtures.py` at that commit."""

from __future__ import annotations

import json
import shutil

import pytest

from tests.conftest import REPO, run_seqlit

LEGACY = REPO / "tests" / "fixtures" / "legacy"
EXPECTED = json.loads((LEGACY / "expected.json").read_text(encoding="utf-8"))
QUIET = ["--trainer.logger", "false", "--trainer.enable_progress_bar", "false", "--trainer.enable_model_summary", "false"]


@pytest.fixture
def legacy(tmp_path):
    shutil.copytree(LEGACY / "data", tmp_path / "data")
    for ckpt in LEGACY.glob("*.ckpt"):
        shutil.copy(ckpt, tmp_path)
    return tmp_path


@pytest.mark.parametrize("task", sorted(EXPECTED))
def test_legacy_checkpoint_tests_and_predicts_as_it_did(legacy, task):
    expected = EXPECTED[task]
    extra = ["--data.init_args.path", "data/lm.txt"] if task == "language_model" else []
    env = {"SEQLIT_RECORD_METRICS": str(legacy / "metrics.json")}
    run_seqlit("test", "--ckpt_path", f"{task}.ckpt", *QUIET, *extra,
               "--trainer.callbacks+=tests.fixtures.legacy.record.RecordMetrics", cwd=legacy, env=env)
    metrics = json.loads((legacy / "metrics.json").read_text())
    assert expected["test"].keys() <= metrics.keys()  # today's tasks may report more (the LM's test/loss)
    for name, value in expected["test"].items():
        assert metrics[name] == pytest.approx(value, rel=1e-4, abs=1e-5), name
    if "predict" not in expected:
        return
    (legacy / "input.txt").write_text(expected["predict_input"], encoding="utf-8")
    run_seqlit("predict", "--ckpt_path", f"{task}.ckpt", "--data.init_args.predict_file", "input.txt",
               "--predict_output", "out.jsonl", *QUIET, cwd=legacy)
    records = [json.loads(line) for line in (legacy / "out.jsonl").read_text(encoding="utf-8").splitlines()]
    assert len(records) == len(expected["predict"])
    for got, want in zip(records, expected["predict"]):
        if "probs" in want:
            assert got["probs"] == pytest.approx(want["probs"], abs=1e-5)
            got, want = {k: v for k, v in got.items() if k != "probs"}, {k: v for k, v in want.items() if k != "probs"}
        assert got == want
