"""`streaming: true` resumes mid-epoch exactly: kill -9 at a mid-epoch checkpoint, resume, same metrics and weights.

The map-style proof (tests/resume/test_kill_resume.py) run on a streamed corpus: the loader's state is the
count of windows served, and the resumed stream skips them. Every logged metric after the checkpoint equals
the uninterrupted run's, and so do the final weights, bit for bit (one CPU thread).
"""

from __future__ import annotations

import torch

from tests.conftest import REPO
from tests.resume.test_kill_resume import COMMON, kill_and_resume


def corpus_folder(folder):
    folder.mkdir()
    words = ["the cat", "a dog", "my friend", "the river", "sees", "likes", "finds", "a boat", "."]
    for split, n in (("train", 500), ("valid", 40), ("test", 40)):
        lines = (" ".join(words[(i * k) % len(words)] for k in range(1, 6)) for i in range(n))
        (folder / f"{split}.txt").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return folder


def test_streamed_language_model_resumes_mid_epoch_exactly(tmp_path):
    args = ["--config", str(REPO / "configs" / "quickstart.yaml"), *COMMON,
            "--model.init_args.backbone.kind", "lstm", "--model.init_args.backbone.hidden_size", "32",
            "--model.init_args.embedding_dim", "16", "--model.init_args.dropout", "0.3",
            "--data.init_args.path", str(corpus_folder(tmp_path / "corpus")), "--data.init_args.level", "word",
            "--data.init_args.streaming", "true", "--data.init_args.batch_size", "8", "--data.init_args.bptt", "16",
            "--data.init_args.eval_batch_size", "2", "--trainer.val_check_interval", "5", "--trainer.limit_val_batches", "3"]
    kill_and_resume(args, tmp_path, epochs=2)
    final = [torch.load(next((tmp_path / run).rglob("last.ckpt")), weights_only=False)["state_dict"] for run in ("full", "killed")]
    assert final[0].keys() == final[1].keys()
    assert all(torch.equal(final[0][k], final[1][k]) for k in final[0]), "the resumed weights differ from the uninterrupted run's"
