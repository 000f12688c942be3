"""DDP for the many-to-many tagger (gloo, 2 CPU processes, through the CLI): a 2-process validate/test
gives the entity scores of 1 process exactly, a 2-process checkpoint resumes in 1 process, and a
2-process predict writes one file with every sentence once, in input order.

Validation and test hold 13 sentences in batches of 3 (5 batches: 3 on rank 0, 2 on rank 1), so the
shards are uneven; a sentence scored twice would add its spans twice to the F1 counts.
"""

from __future__ import annotations

import random
import shutil
from pathlib import Path

import pytest

from data_modules.predict_stream import CHUNK_BATCHES
from tests.conftest import REPO
from tests.ddp.ddp_helpers import (assert_same_metrics, fit_two_processes, one_and_two, predict_two_processes,
                                   resume_in_one_process)
from tests.tagging.tagging_corpus import sentence, write_conll

N_EVAL = 13
TINY = ["--config", str(REPO / "configs" / "tagging" / "conll2003_bilstm_crf.yaml"),
        "--model.init_args.backbone.hidden_size", "16", "--model.init_args.embedding_dim", "12", "--model.init_args.char_dim", "8",
        "--model.init_args.char_features", "8", "--model.init_args.lr", "0.02",
        "--model.init_args.embedding_dropout", "0.0", "--model.init_args.dropout", "0.0",
        "--data.init_args.batch_size", "8", "--data.init_args.eval_batch_size", "3", "--trainer.max_time", "null"]


@pytest.fixture(scope="module")
def run(tmp_path_factory) -> tuple[Path, Path]:
    """(working folder, last.ckpt of a 2-process fit) on 48 training sentences, 13 validation, 13 test."""
    tmp = tmp_path_factory.mktemp("ddp_tagging")
    rng = random.Random(0)
    data = tmp / "ner"
    data.mkdir()
    for split, n in (("train", 48), ("valid", N_EVAL), ("test", N_EVAL)):
        write_conll(data / f"{split}.conll", [sentence(rng) for _ in range(n)])
    last = fit_two_processes(*TINY, "--data.init_args.path", str(data), "--trainer.max_steps", "20", cwd=tmp)
    return tmp, last


@pytest.mark.parametrize("subcommand", ["validate", "test"])
def test_two_process_metrics_equal_one_process(run, subcommand):
    tmp, last = run
    one, two = one_and_two(subcommand, last, cwd=tmp)
    stage = "val" if subcommand == "validate" else "test"
    exact = [f"{stage}/{m}" for m in ("f1", "precision", "recall")]
    if stage == "test":
        exact += [f"test/f1_{t}" for t in ("LOC", "ORG", "PER")]
    assert_same_metrics(one, two, exact=exact, close=[f"{stage}/loss"])
    assert one[f"{stage}/f1"] > 0, "a model that finds no entity proves little: train it longer"


def test_two_process_checkpoint_resumes_in_one(run):
    tmp, last = run
    resume_in_one_process(last, cwd=tmp, steps=2)


def test_two_process_predict_writes_every_sentence_once_in_order(run):
    tmp, last = run
    lines = ["Maria works for Siemens in Hong Kong.", "", "John Smith lives in Paris .", "Olga visited Berlin.",
             "   ", "Reuters said on Monday that Ali Khan left.", "In 1996, Peter van Dijk visited Lagos.",
             "Maria lives in New York.", "Siemens said that Olga left."]
    records = predict_two_processes(last, lines, cwd=tmp)  # one chunk (data_modules/predict_stream.py): rank 0's
    assert [r["text"] for r in records] == [line for line in lines if line.strip()]
    assert all(len(r["tags"]) == len(r["tokens"]) for r in records)


def test_two_process_predict_merges_the_ranks_chunks_in_order(run):
    """Chunks of 50 batches of 3 lines go to the ranks in turn (0, 1, 0): the merged file is in input order."""
    tmp, last = run
    lines = [("" if i % 7 == 3 else f"Maria works in Paris {i} .") for i in range(2 * CHUNK_BATCHES * 3 + 20)]
    shutil.rmtree(tmp / "predict_out", ignore_errors=True)  # the other predict test's
    records = predict_two_processes(last, lines, cwd=tmp)
    assert [r["text"] for r in records] == [line for line in lines if line.strip()]
