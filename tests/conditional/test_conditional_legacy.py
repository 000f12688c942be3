"""A conditional LM checkpoint of the one-field layout (one `condition_names` list, one `condition_embedding`
table), written by commit 11c64a4 with `tests/fixtures/legacy/make_conditional.py`, still tests to the same
perplexity and generates the same text, under its bare name and as `label=NAME`."""

from __future__ import annotations

import json
import shutil

import pytest

from tests.conftest import REPO, run_seqlit

LEGACY = REPO / "tests" / "fixtures" / "legacy"
EXPECTED = json.loads((LEGACY / "conditional_lm.json").read_text(encoding="utf-8"))
QUIET = ["--trainer.logger", "false", "--trainer.enable_progress_bar", "false", "--trainer.enable_model_summary", "false"]


@pytest.fixture
def legacy(tmp_path):
    shutil.copytree(LEGACY / "data", tmp_path / "data")
    shutil.copy(LEGACY / "conditional_lm.ckpt", tmp_path)
    return tmp_path


def test_old_checkpoint_tests_to_the_same_perplexity(legacy):
    run_seqlit("test", "--ckpt_path", "conditional_lm.ckpt", *QUIET,
               "--trainer.callbacks+=tests.fixtures.legacy.record.RecordMetrics", cwd=legacy,
               env={"SEQLIT_RECORD_METRICS": str(legacy / "metrics.json")})
    metrics = json.loads((legacy / "metrics.json").read_text())
    for name, value in EXPECTED["test"].items():
        assert metrics[name] == pytest.approx(value, rel=1e-4, abs=1e-5), name


@pytest.mark.parametrize("name", sorted(EXPECTED["generate"]))
def test_old_checkpoint_generates_the_same_text_by_bare_name_and_as_a_field(legacy, name):
    args, stdout = EXPECTED["generate"][name]["args"], EXPECTED["generate"][name]["stdout"]
    assert run_seqlit("generate", "--ckpt_path", "conditional_lm.ckpt", *args, cwd=legacy).stdout == stdout
    as_field = ["label=" + a if prev == "--condition" else a for prev, a in zip(["", *args], args)]
    assert run_seqlit("generate", "--ckpt_path", "conditional_lm.ckpt", *as_field, cwd=legacy).stdout == stdout
