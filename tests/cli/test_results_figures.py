"""A plain `fit` records its throughput in results.json, and `test_after_fit` says which weights it scored: the
best checkpoint, or (a fit shorter than one validation, which has none) the final weights, in one line too."""

from __future__ import annotations

import json
import math

from tests.cli.test_fit_test_generate import TINY
from tests.conftest import run_seqlit

ENV = {"OMP_NUM_THREADS": "1"}


def fit(tmp_path, *extra: str):
    text = tmp_path / "corpus.txt"
    text.write_text("\n".join(f"the cat number {i % 7} sat on mat {i % 5} ." for i in range(400)) + "\n")
    proc = run_seqlit("fit", *TINY, "--data.init_args.path", str(text), "--num_threads", "1",
                      "--test_after_fit", "true", *extra, cwd=tmp_path, env=ENV)
    (results,) = tmp_path.glob("runs/seqlit/*/results.json")
    return proc, json.loads(results.read_text())


def test_a_fit_without_validation_tests_the_final_weights_and_says_so(tmp_path):
    proc, results = fit(tmp_path, "--trainer.max_steps", "3")  # an epoch is ~100 steps: no validation ran
    assert results["best_checkpoint"] is None and results["tested"] == "final weights"
    assert "no best checkpoint (no validation ran): testing the final weights" in proc.stderr
    assert "test/ppl" in results["metrics"]
    assert isinstance(results["tokens_per_s"], float) and math.isfinite(results["tokens_per_s"])
    assert results["tokens_per_s"] > 0 and results["tokens_per_s"] == results["metrics"]["train/tokens_per_s"]


def test_a_fit_with_a_best_checkpoint_tests_it(tmp_path):
    proc, results = fit(tmp_path, "--trainer.max_steps", "4", "--trainer.val_check_interval", "2")
    assert results["best_checkpoint"] and results["tested"] == results["best_checkpoint"]
    assert "testing the final weights" not in proc.stderr
    assert results["tokens_per_s"] > 0
