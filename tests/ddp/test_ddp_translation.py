"""DDP for the encoder–decoder (gloo, 2 CPU processes, through the CLI): a 2-process validate/test gives
1 process's BLEU and exact match exactly, a 2-process checkpoint resumes in 1 process, and a 2-process
predict writes one file with every source sentence once, in input order.

Validation and test hold 13 sentence pairs in batches of 3 (5 batches: 3 on rank 0, 2 on rank 1), so
the shards are uneven; a pair translated twice would add to BLEU's n-gram counts and exact match's total.
"""

from __future__ import annotations

from pathlib import Path

import datasets
import pytest

from tests.conftest import REPO
from tests.ddp.ddp_helpers import (assert_fraction_of, assert_same_metrics, fit_two_processes, one_and_two,
                                   predict_two_processes, resume_in_one_process)
from tests.translation.corpus import pairs

N_EVAL = 13
TINY = ["--config", str(REPO / "configs" / "translation" / "multi30k_gru_attn.yaml"),
        "--model.init_args.embedding_dim", "16", "--model.init_args.backbone.hidden_size", "16",
        "--model.init_args.decoder.hidden_size", "32", "--model.init_args.attention_size", "16",
        "--model.init_args.max_output_length", "10", "--model.init_args.dropout", "0.0",
        "--model.init_args.lr", "0.01", "--model.init_args.bleu_tokenize", "char",
        "--data.init_args.min_freq", "1", "--data.init_args.batch_size", "16", "--data.init_args.eval_batch_size", "3",
        "--trainer.max_time", "null"]


@pytest.fixture(scope="module")
def run(tmp_path_factory) -> tuple[Path, Path]:
    """(working folder, last.ckpt of a 2-process fit) on 96 training pairs, 13 validation, 13 test."""
    tmp = tmp_path_factory.mktemp("ddp_translation")
    data = tmp / "multi30k"
    data.mkdir()
    for split, n, offset in (("train", 96, 0), ("validation", N_EVAL, 3), ("test", N_EVAL, 7)):
        de, en = pairs(n, offset)
        datasets.Dataset.from_dict({"de": de, "en": en}).to_parquet(str(data / f"{split}.parquet"))
    last = fit_two_processes(*TINY, "--data.init_args.path", str(data), "--trainer.max_steps", "12", cwd=tmp)
    return tmp, last


@pytest.mark.parametrize("subcommand", ["validate", "test"])
def test_two_process_metrics_equal_one_process(run, subcommand):
    tmp, last = run
    one, two = one_and_two(subcommand, last, cwd=tmp)
    stage = "val" if subcommand == "validate" else "test"
    assert_same_metrics(one, two, exact=[f"{stage}/bleu", f"{stage}/exact_match"], close=[f"{stage}/loss"])
    assert_fraction_of(two[f"{stage}/exact_match"], N_EVAL, f"{stage}/exact_match")
    assert one[f"{stage}/bleu"] > 0, "a model whose output shares nothing with the references proves little"


def test_two_process_checkpoint_resumes_in_one(run):
    tmp, last = run
    resume_in_one_process(last, cwd=tmp, steps=2)


def test_two_process_predict_writes_every_sentence_once_in_order(run):
    tmp, last = run
    de, _ = pairs(7, offset=40)
    lines = [de[0], "", *de[1:4], "  ", *de[4:]]
    records = predict_two_processes(last, lines, cwd=tmp)  # 7 sentences in batches of 3: 2 batches on rank 0, 1 on rank 1
    assert [r["source"] for r in records] == de
    assert all(isinstance(r["translation"], str) for r in records)
