"""Length-bucketed batches, so padding is the exception and not the rule.

Sorting a whole split by length would give every epoch the same batches;
shuffling freely fills batches with padding. The middle road (AllenNLP's and
Flair's): shuffle, cut into pools of `pool_batches` batches, sort each pool by
length (with a little noise), cut it into batches, and shuffle the batches.

Distributed-aware: with `num_replicas` > 1 each rank takes a disjoint share
of the batches, all ranks take the same number of steps, and shuffling is
seeded by (seed, epoch) so ranks agree without talking. For evaluation
(`shuffle=False`) no example is ever duplicated: the last ranks may get one
batch fewer, instead of the duplicates `DistributedSampler` pads with, so
metrics count each example exactly once; and batches shrink where needed so
that every rank gets at least one (a rank with no batch would skip the
evaluation and leave the others waiting for it at the metric sync).

Lengths are a numpy array (an Arrow column read as numpy needs no copy into
Python ints) and the sorts are numpy's stable argsorts, so a split of 100 M
examples costs 8 bytes per example here, not a Python list; the batches are
the same ones the earlier `sorted(...)` version drew for the same seed.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence

import numpy as np
import torch
from torch.utils.data import Sampler

from seqlit.errors import SeqlitError


class BucketBatchSampler(Sampler[list[int]]):
    def __init__(
        self,
        lengths: Sequence[int] | np.ndarray,
        batch_size: int,
        shuffle: bool = True,
        seed: int = 0,
        num_replicas: int = 1,
        rank: int = 0,
        pool_batches: int = 50,
        noise: float = 0.1,
    ):
        if batch_size < 1:
            raise ValueError(f"batch_size must be positive, got {batch_size}")
        if not 0 <= rank < num_replicas:
            raise ValueError(f"rank {rank} outside [0, {num_replicas})")
        self.lengths = np.asarray(lengths, dtype=np.int64).reshape(-1)
        self.batch_size, self.shuffle, self.seed = batch_size, shuffle, seed
        self.num_replicas, self.rank = num_replicas, rank
        self.pool_batches, self.noise = pool_batches, noise
        if not shuffle and 0 < len(self.lengths) < num_replicas:
            raise SeqlitError(f"{len(self.lengths)} examples to evaluate cannot be shared among {num_replicas} processes "
                              "(each needs at least one): use fewer devices for this evaluation")
        self.epoch = 0
        self.resume_from = 0  # batches of this epoch done before a restart: the next __iter__ skips them (once)

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def batches(self) -> list[np.ndarray]:
        """All batches of the epoch (arrays of example indices), for all ranks, in the order they are dealt."""
        n = len(self.lengths)
        if not self.shuffle:
            order = np.argsort(self.lengths, kind="stable")  # by (length, index)
            size = self.eval_batch_size
            return [order[i : i + size] for i in range(0, n, size)]
        g = torch.Generator().manual_seed(self.seed * 1_000_003 + self.epoch)
        perm = torch.randperm(n, generator=g).numpy()
        jitter = (torch.rand(n, generator=g) * 2 - 1).numpy().astype(np.float64)
        keys = self.lengths * (1 + self.noise * jitter)
        pool = self.batch_size * self.pool_batches
        batches = []
        for start in range(0, n, pool):
            chunk = perm[start : start + pool]
            chunk = chunk[np.argsort(keys[chunk], kind="stable")]
            batches += [chunk[i : i + self.batch_size] for i in range(0, len(chunk), self.batch_size)]
        order = torch.randperm(len(batches), generator=g).tolist()
        return [batches[i] for i in order]

    def __iter__(self) -> Iterator[list[int]]:
        batches = self.batches()
        if self.shuffle and self.num_replicas > 1:
            # same number of steps on every rank: drop the few batches that do not divide evenly
            batches = batches[: len(batches) - len(batches) % self.num_replicas]
        start, self.resume_from = self.resume_from, 0
        return (b.tolist() for b in batches[self.rank :: self.num_replicas][start:])

    @property
    def eval_batch_size(self) -> int:
        """`batch_size`, or less where the split is too small to give every rank a batch."""
        # floor, not ceil: 4 examples on 3 ranks in batches of ceil(4/3) = 2 are 2 batches, one rank without any
        return max(1, min(self.batch_size, len(self.lengths) // self.num_replicas))

    def __len__(self) -> int:
        if self.shuffle:
            return math.ceil(len(self.lengths) / self.batch_size) // self.num_replicas
        total = math.ceil(len(self.lengths) / self.eval_batch_size)
        return len(range(self.rank, total, self.num_replicas))


def pad(seqs: Sequence[Sequence[int]], pad_id: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Right-pad id lists into (B, T) and return their lengths (B,) as CPU int64, as packing wants."""
    lengths = torch.tensor([len(s) for s in seqs], dtype=torch.long)
    out = torch.full((len(seqs), int(lengths.max()) if len(seqs) else 0), pad_id, dtype=torch.long)
    for i, s in enumerate(seqs):
        out[i, : len(s)] = torch.as_tensor(s, dtype=torch.long)
    return out, lengths
