"""Bucketed batches: every example exactly once per epoch on the union of ranks,
equal step counts across ranks in training, no duplicates in evaluation, little padding."""

import random

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from data_modules.bucketing import BucketBatchSampler, pad
from seqlit.errors import SeqlitError


@given(st.lists(st.integers(1, 60), min_size=1, max_size=300), st.integers(1, 16), st.integers(1, 3),
       st.booleans(), st.integers(0, 5))
@settings(max_examples=80, deadline=None)
def test_each_example_once(lengths, batch_size, world, shuffle, epoch):
    assume(shuffle or len(lengths) >= world)  # fewer examples than ranks: refused, below
    shares = []
    for rank in range(world):
        s = BucketBatchSampler(lengths, batch_size, shuffle=shuffle, seed=7, num_replicas=world, rank=rank)
        s.set_epoch(epoch)
        batches = list(s)
        assert len(batches) == len(s)
        assert all(1 <= len(b) <= batch_size for b in batches)
        shares.append([i for b in batches for i in b])
    flat = [i for share in shares for i in share]
    assert len(flat) == len(set(flat)), "an example was served twice"
    if not shuffle or world == 1:
        assert sorted(flat) == list(range(len(lengths))), "evaluation must see every example"
        assert all(shares), "a rank without a batch would skip evaluation and hang the others at the metric sync"
    else:
        steps = {len(BucketBatchSampler(lengths, batch_size, True, 7, world, r)) for r in range(world)}
        assert len(steps) == 1, "ranks must take the same number of steps"


def test_shuffle_changes_with_epoch_and_is_reproducible():
    lengths = [random.Random(i).randint(1, 50) for i in range(500)]
    s = BucketBatchSampler(lengths, 16, seed=3)
    first = list(s)
    s.set_epoch(1)
    assert list(s) != first
    s.set_epoch(0)
    assert list(s) == first


def test_bucketing_cuts_padding():
    rng = random.Random(0)
    lengths = [rng.randint(1, 60) for _ in range(5000)]

    def waste(batches):
        padded = sum(max(lengths[i] for i in b) * len(b) for b in batches)
        return 1 - sum(lengths) / padded

    bucketed = waste(list(BucketBatchSampler(lengths, 32, seed=0)))
    order = list(range(len(lengths)))
    rng.shuffle(order)
    plain = waste([order[i : i + 32] for i in range(0, len(order), 32)])
    assert bucketed < 0.10 < plain


def test_pad_matches_lengths():
    ids, lengths = pad([[5, 6, 7], [8]], pad_id=0)
    assert ids.tolist() == [[5, 6, 7], [8, 0, 0]] and lengths.tolist() == [3, 1]
    assert lengths.device.type == "cpu"


def test_small_evaluation_splits_give_every_rank_a_batch():
    """872 sentences in batches of 256 are 4 batches: on 8 ranks they shrink to 109 so none is idle."""
    shares = [list(BucketBatchSampler([5] * 872, 256, shuffle=False, num_replicas=8, rank=r)) for r in range(8)]
    assert [len(s) for s in shares] == [1] * 8
    assert sorted(i for s in shares for b in s for i in b) == list(range(872))
    with pytest.raises(SeqlitError, match="3 examples to evaluate cannot be shared among 4 processes"):
        BucketBatchSampler([5, 6, 7], 8, shuffle=False, num_replicas=4, rank=0)


def _list_batches(lengths, batch_size, shuffle, seed, epoch, pool_batches, noise):
    """The batches of the sampler before its lengths became a numpy array (Python lists and `sorted`), kept as the reference."""
    import torch

    n = len(lengths)
    if not shuffle:
        order = sorted(range(n), key=lambda i: (lengths[i], i))
        return [order[i : i + batch_size] for i in range(0, n, batch_size)]
    g = torch.Generator().manual_seed(seed * 1_000_003 + epoch)
    perm = torch.randperm(n, generator=g).tolist()
    jitter = (torch.rand(n, generator=g) * 2 - 1).tolist()
    pool, batches = batch_size * pool_batches, []
    for start in range(0, n, pool):
        chunk = sorted(perm[start : start + pool], key=lambda i: lengths[i] * (1 + noise * jitter[i]))
        batches += [chunk[i : i + batch_size] for i in range(0, len(chunk), batch_size)]
    return [batches[i] for i in torch.randperm(len(batches), generator=g).tolist()]


@given(st.lists(st.integers(1, 60), min_size=1, max_size=400), st.integers(1, 16), st.booleans(), st.integers(0, 3),
       st.integers(1, 5), st.sampled_from([0.0, 0.1, 0.3]))
@settings(max_examples=80, deadline=None)
def test_numpy_lengths_give_the_batches_of_the_list_version(lengths, batch_size, shuffle, epoch, pool, noise):
    import numpy as np

    s = BucketBatchSampler(np.array(lengths), batch_size, shuffle=shuffle, seed=11, pool_batches=pool, noise=noise)
    s.set_epoch(epoch)
    assert [b.tolist() for b in s.batches()] == _list_batches(lengths, batch_size, shuffle, 11, epoch, pool, noise)
    assert list(s) == [b.tolist() for b in s.batches()]
    assert isinstance(s.lengths, np.ndarray) and s.lengths.dtype == np.int64


def test_lengths_array_is_not_copied():
    import numpy as np

    lengths = np.arange(1, 101, dtype=np.int64)
    assert np.shares_memory(BucketBatchSampler(lengths, 8).lengths, lengths)


def test_every_rank_gets_an_evaluation_batch_when_the_split_barely_covers_them():
    """4 examples on 3 ranks: batches of ceil(4/3) = 2 left the third rank with none (found by hypothesis)."""
    shares = [list(BucketBatchSampler([1, 1, 1, 1], 2, shuffle=False, num_replicas=3, rank=r)) for r in range(3)]
    assert all(shares) and sorted(i for share in shares for b in share for i in b) == [0, 1, 2, 3]
