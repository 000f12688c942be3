"""`streaming: true` under DDP (gloo, 2 processes through the CLI): shards dealt to ranks, uneven shares stop together.

The training split is two files of different lengths, so `split_dataset_by_node` gives each rank one file
and the ranks hold different numbers of windows. The run must end (no rank left waiting in an all-reduce)
after exactly as many steps as the shorter share has windows.
"""

from __future__ import annotations

import datasets
import torch

from data_modules import LanguageModelingData
from data_modules.lm_streaming import StreamedWindows
from tests.conftest import REPO, run_seqlit
from tests.ddp.ddp_helpers import DDP2, ONE_THREAD, QUIET


def test_uneven_shards_stop_together(tmp_path, monkeypatch):
    line = "the cat number {} sat on mat {} ."
    for name, n in (("train-00000-of-00002", 300), ("train-00001-of-00002", 200), ("valid", 40), ("test", 40)):
        (tmp_path / f"{name}.txt").write_text("".join(line.format(i % 7, i % 5) + "\n" for i in range(n)), encoding="utf-8")
    monkeypatch.setattr(datasets.config, "HF_DATASETS_CACHE", str(tmp_path / "hf-cache"))
    dm = LanguageModelingData(path=str(tmp_path), batch_size=4, bptt=8, streaming=True)
    dm.ensure_vocab()
    unk = dm.vocab.tokens[dm.vocab.unk_id]
    shares = [sum(1 for _ in StreamedWindows(dm.split("train"), dm.vocab.tokens, unk, "word", "text", 4, 8, rank, 2))
              for rank in (0, 1)]
    assert shares[0] != shares[1]

    run_seqlit("fit", "--config", str(REPO / "configs" / "quickstart.yaml"), *DDP2, *QUIET,
               "--model.init_args.backbone.hidden_size", "24", "--model.init_args.embedding_dim", "12",
               "--data.init_args.path", str(tmp_path), "--data.init_args.level", "word", "--data.init_args.streaming", "true",
               "--data.init_args.batch_size", "4", "--data.init_args.bptt", "8", "--data.init_args.eval_batch_size", "2",
               "--trainer.max_epochs", "1", "--trainer.max_time", "null", "--trainer.callbacks", "[]",
               "--trainer.logger", "false", "--trainer.default_root_dir", "two", "--test_after_fit", "false",
               cwd=tmp_path, env=ONE_THREAD)
    last = torch.load(tmp_path / "two" / "checkpoints" / "last.ckpt", weights_only=False)
    assert last["global_step"] == min(shares)
