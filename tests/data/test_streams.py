"""Contiguous LM streams: windows tile each row exactly, targets are inputs shifted by one,
and DDP ranks split the rows of the one-process layout."""

import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from data_modules.streams import BPTTSampler, StreamWindows, batchify, rank_rows


@given(st.integers(20, 400), st.integers(1, 6), st.integers(1, 17), st.booleans(), st.integers(0, 3))
@settings(max_examples=60, deadline=None)
def test_windows_cover_each_stream_once(n, rows, bptt, random_length, epoch):
    ids = torch.arange(n)
    if n // rows < 2:
        return
    streams = batchify(ids, rows)
    data = StreamWindows(streams)
    sampler = BPTTSampler(len(data), bptt, random_length, seed=1)
    sampler.set_epoch(epoch)
    seen_x, seen_y = [], []
    for window in sampler:
        batch = data[window]
        assert torch.equal(batch["targets"][:, :-1], batch["input_ids"][:, 1:])
        seen_x.append(batch["input_ids"])
        seen_y.append(batch["targets"])
    assert torch.equal(torch.cat(seen_x, 1), streams[:, :-1])
    assert torch.equal(torch.cat(seen_y, 1), streams[:, 1:])


def test_random_lengths_depend_on_epoch_only():
    a, b = BPTTSampler(1000, 20, True, seed=0), BPTTSampler(1000, 20, True, seed=0)
    a.set_epoch(2)
    b.set_epoch(2)
    assert list(a) == list(b)
    b.set_epoch(3)
    assert list(a) != list(b)


def test_ranks_partition_rows():
    streams = batchify(torch.arange(100), 4)
    parts = [rank_rows(streams, r, 2) for r in range(2)]
    assert torch.equal(torch.cat(parts).sort(0).values, streams.sort(0).values)
    assert torch.equal(parts[0], streams[[0, 2]])
