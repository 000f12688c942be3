"""DDP for the many-to-one classifier (gloo, 2 CPU processes, through the CLI): a 2-process validate/test
scores exactly the examples 1 process scores, a 2-process checkpoint resumes in 1 process, and a
2-process predict writes one file with every input once, in input order.

The validation and test splits have an odd number of texts and batches (13 in batches of 3: 5 batches,
3 on rank 0 and 2 on rank 1), so the shards are uneven; padding them as `DistributedSampler` does
would score a text twice and change the accuracy's denominator.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import REPO
from tests.ddp.ddp_helpers import (assert_fraction_of, assert_same_metrics, fit_two_processes, one_and_two,
                                   predict_two_processes, resume_in_one_process)
from tests.sentiment.corpus import sentences, write_split

N_EVAL = 13
TINY = ["--config", str(REPO / "configs" / "sentiment" / "sst2_bigru.yaml"),
        "--model.init_args.embedding_dim", "8", "--model.init_args.backbone.hidden_size", "8",
        "--data.init_args.batch_size", "8", "--data.init_args.eval_batch_size", "3",
        "--trainer.max_time", "null", "--trainer.val_check_interval", "1.0"]


@pytest.fixture(scope="module")
def run(tmp_path_factory) -> tuple[Path, Path]:
    """(working folder, last.ckpt of a 2-process fit) on 48 training texts, 13 validation, 13 test."""
    tmp = tmp_path_factory.mktemp("ddp_sentiment")
    data = tmp / "sst"
    data.mkdir()
    write_split(data / "train.parquet", *sentences(48))
    write_split(data / "validation.parquet", *sentences(N_EVAL, offset=1000))
    write_split(data / "test.parquet", *sentences(N_EVAL, offset=2000))
    last = fit_two_processes(*TINY, "--data.init_args.path", str(data), "--data.init_args.test_split", "test",
                             "--trainer.max_steps", "4", cwd=tmp)
    return tmp, last


@pytest.mark.parametrize("subcommand", ["validate", "test"])
def test_two_process_metrics_equal_one_process(run, subcommand):
    tmp, last = run
    one, two = one_and_two(subcommand, last, cwd=tmp)
    stage = "val" if subcommand == "validate" else "test"
    assert_same_metrics(one, two, exact=[f"{stage}/acc", f"{stage}/f1_macro", f"{stage}/auroc"], close=[f"{stage}/loss"])
    assert_fraction_of(two[f"{stage}/acc"], N_EVAL, f"{stage}/acc")


def test_two_process_checkpoint_resumes_in_one(run):
    tmp, last = run
    resume_in_one_process(last, cwd=tmp, steps=2)


def test_two_process_predict_writes_every_input_once_in_order(run):
    tmp, last = run
    texts, _ = sentences(7, offset=3000)
    lines = [texts[0], "", *texts[1:4], "   ", *texts[4:]]
    records = predict_two_processes(last, lines, cwd=tmp)  # 7 texts in batches of 3: 2 batches on rank 0, 1 on rank 1
    assert [r["text"] for r in records] == texts
    assert all(r["label"] in ("negative", "positive") for r in records)
