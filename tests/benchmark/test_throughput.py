"""The Throughput callback counts real tokens and training time only (validation excluded)."""

from __future__ import annotations

import pytest
import torch

from seqlit.callbacks import throughput
from seqlit.callbacks.throughput import Throughput, batch_tokens


def test_batch_tokens_counts_unpadded_tokens():
    assert batch_tokens({"input_ids": torch.zeros(4, 9), "lengths": torch.tensor([9, 3, 2, 1])}) == 15
    assert batch_tokens({"input_ids": torch.zeros(4, 9), "targets": torch.zeros(4, 9)}) == 36
    assert batch_tokens({"words": torch.zeros(2, 5), "targets": torch.zeros(2, 5)}) == 10
    assert batch_tokens({"source_ids": torch.zeros(2, 7), "source_lengths": torch.tensor([7, 4]),
                         "target_in": torch.zeros(2, 11)}) == 11
    with pytest.raises(ValueError, match="to count its tokens"):
        batch_tokens({"x": torch.zeros(2)})


class Module:
    """What the callback touches on a LightningModule."""

    device = torch.device("cpu")

    def __init__(self):
        self.logged = {}

    def log(self, name, value, **kwargs):
        self.logged[name] = value


def test_validation_time_is_not_training_time(monkeypatch):
    clock = iter([0.0, 1.0, 5.0, 6.0])  # epoch start, validation start, validation end, epoch end
    monkeypatch.setattr(throughput.time, "perf_counter", lambda: next(clock))
    cb, module = Throughput(), Module()
    cb.on_train_epoch_start(None, module)
    cb.on_train_batch_end(None, module, None, {"lengths": torch.tensor([50, 50])}, 0)
    cb.on_validation_start(None, module)
    cb.on_validation_end(None, module)
    cb.on_train_batch_end(None, module, None, {"lengths": torch.tensor([100])}, 1)
    cb.on_train_epoch_end(None, module)
    assert module.logged["train/tokens_per_s"] == pytest.approx(200 / 2.0)  # 2 s of training, not 6


def test_sanity_check_validation_does_not_start_the_clock(monkeypatch):
    clock = iter([10.0, 12.0])  # sanity validation never reads the clock: these are epoch start and end
    monkeypatch.setattr(throughput.time, "perf_counter", lambda: next(clock))
    cb, module = Throughput(), Module()
    cb.on_validation_start(None, module)
    cb.on_validation_end(None, module)
    cb.on_train_epoch_start(None, module)
    cb.on_train_batch_end(None, module, None, {"input_ids": torch.zeros(2, 10)}, 0)
    cb.on_train_epoch_end(None, module)
    assert module.logged["train/tokens_per_s"] == pytest.approx(20 / 2.0)


def test_a_run_resumed_mid_epoch_is_timed(monkeypatch):
    """Lightning calls no on_train_epoch_start for the epoch a resumed run restarts in: the figure used to be 0.0."""
    clock = iter([3.0, 7.0])  # train start, epoch end
    monkeypatch.setattr(throughput.time, "perf_counter", lambda: next(clock))
    cb, module = Throughput(), Module()
    cb.on_train_start(None, module)
    cb.on_train_batch_end(None, module, None, {"lengths": torch.tensor([30, 10])}, 0)
    cb.on_train_epoch_end(None, module)
    assert module.logged["train/tokens_per_s"] == pytest.approx(40 / 4.0)
