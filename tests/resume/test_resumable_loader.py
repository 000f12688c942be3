"""ResumableLoader in-process: a loader restored from `state_dict()` serves exactly the batches the original had left."""

from __future__ import annotations

import torch

from data_modules.bucketing import BucketBatchSampler
from data_modules.resumable import ResumableLoader
from data_modules.streams import BPTTSampler, StreamWindows


def bucketed(epoch: int = 0) -> ResumableLoader:
    lengths = [(i * 7) % 13 + 1 for i in range(50)]
    sampler = BucketBatchSampler(lengths, batch_size=4, shuffle=True, seed=3, pool_batches=3)
    sampler.set_epoch(epoch)
    return ResumableLoader(list(range(50)), batch_sampler=sampler, collate_fn=list)


def windows() -> ResumableLoader:
    streams = torch.arange(400).view(4, 100)
    return ResumableLoader(StreamWindows(streams), sampler=BPTTSampler(99, 8, random_length=True, seed=1), batch_size=None)


def test_bucketed_batches_resume_where_they_stopped():
    full = list(bucketed(epoch=2))
    it = iter(bucketed(epoch=2))
    original = it.loader
    seen = [next(it) for _ in range(5)]
    state = original.state_dict()
    assert state == {"epoch": 2, "batches": 5}

    restored = bucketed(epoch=0)  # a fresh process: the epoch comes from the state
    restored.load_state_dict(state)
    assert len(restored) == len(full)  # Lightning counts the epoch's batches from len()
    assert seen + list(restored) == full
    assert restored.state_dict() == {"epoch": 2, "batches": len(full)}
    assert list(restored) == full  # the skip applies once: the next epoch is whole again


def test_stream_windows_resume_where_they_stopped():
    full = [b["input_ids"] for b in windows()]
    loader = windows()
    it = iter(loader)
    for _ in range(3):
        next(it)
    restored = windows()
    restored.load_state_dict(loader.state_dict())
    rest = [b["input_ids"] for b in restored]
    assert len(rest) == len(full) - 3 and all(torch.equal(a, b) for a, b in zip(rest, full[3:]))


def test_a_finished_epoch_resumes_at_the_next_epochs_start():
    loader = bucketed()
    n = len(list(loader))
    restored = bucketed()
    restored.load_state_dict({"epoch": 0, "batches": n})
    assert len(list(restored)) == n


def test_iterating_a_loader_leaves_the_global_generator_alone():
    torch.manual_seed(0)
    expected = torch.rand(3)
    torch.manual_seed(0)
    list(bucketed())
    assert torch.equal(torch.rand(3), expected)


def test_lightning_sets_the_epoch_of_a_bucketing_batch_sampler():
    """Lightning's `_set_sampler_epoch` reaches the batch sampler, so each epoch has its own batch order."""
    from lightning_fabric.utilities.data import _set_sampler_epoch

    loader = bucketed(epoch=0)
    first = list(loader)
    _set_sampler_epoch(loader, 1)
    assert loader.batch_sampler.epoch == 1
    second = list(loader)
    assert second != first
    assert sorted(i for batch in second for i in batch) == list(range(50))  # still every example once
