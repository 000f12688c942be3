"""Streamed tagging and sentiment resume mid-epoch exactly: kill -9 at a mid-epoch checkpoint, resume, same weights.

tests/resume/test_kill_resume.py's proof run with `streaming: true` on a parquet subset of the shared corpora,
large enough that the training stream outgrows `datasets`' shuffle buffer and fills several length-sorted
pools per epoch (data_modules/task_streaming.py), so the shuffle's epoch seed, the pools' order and the count of
batches served all have to carry over. Every logged metric after the checkpoint equals the uninterrupted run's,
and so do the final weights, bit for bit (one CPU thread).
"""

from __future__ import annotations

from pathlib import Path

import datasets
import torch

from data_modules import task_streaming
from tests.conftest import REPO, SHARED_DATA, needs_shared_data
from tests.resume.test_kill_resume import COMMON, kill_and_resume

TRAIN_ROWS = task_streaming.SHUFFLE_BUFFER + 200  # beyond the shuffle buffer; batch 4 -> 6 bucket pools per epoch
BATCH = 4


def parquet_subset(corpus: str, out: Path) -> Path:
    """The first rows of a shared corpus's splits as parquet (validation and test kept small: they are not the point)."""
    out.mkdir()
    for split, n in (("train", TRAIN_ROWS), ("validation", 24), ("test", 24)):
        ds = datasets.load_dataset("parquet", data_files=str(SHARED_DATA / corpus / f"{split}.parquet"), split="train")
        ds.select(range(n)).to_parquet(out / f"{split}.parquet")
    return out


def same_final_weights(tmp_path: Path) -> None:
    final = [torch.load(next((tmp_path / run).rglob("last.ckpt")), weights_only=False)["state_dict"] for run in ("full", "killed")]
    assert final[0].keys() == final[1].keys()
    assert all(torch.equal(final[0][k], final[1][k]) for k in final[0]), "the resumed weights differ from the uninterrupted run's"


STREAMED = [*COMMON, "--data.init_args.streaming", "true", "--data.init_args.batch_size", str(BATCH),
            "--data.init_args.eval_batch_size", "8", "--trainer.val_check_interval", "100", "--trainer.limit_val_batches", "2"]


@needs_shared_data
def test_streamed_tagger_resumes_mid_epoch_exactly(tmp_path):
    args = ["--config", str(REPO / "configs" / "tagging" / "conll2003_bilstm_crf.yaml"), *STREAMED,
            "--data.init_args.path", str(parquet_subset("conll2003", tmp_path / "conll2003")),
            "--model.init_args.backbone.hidden_size", "8", "--model.init_args.embedding_dim", "8",
            "--model.init_args.char_features", "4", "--model.init_args.char_dim", "4"]
    kill_and_resume(args, tmp_path, epochs=2)
    same_final_weights(tmp_path)


@needs_shared_data
def test_streamed_classifier_resumes_mid_epoch_exactly(tmp_path):
    args = ["--config", str(REPO / "configs" / "sentiment" / "sst2_bilstm.yaml"), *STREAMED,
            "--data.init_args.path", str(parquet_subset("sst2", tmp_path / "sst2")),
            "--model.init_args.backbone.hidden_size", "8", "--model.init_args.embedding_dim", "8"]
    kill_and_resume(args, tmp_path, epochs=2)
    same_final_weights(tmp_path)

