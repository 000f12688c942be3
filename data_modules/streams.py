"""Contiguous token streams for stateful language-model training.

A corpus is one long id sequence. `batchify` cuts it into `n` parallel
streams (rows); batch k is the column window [s, s+len) of every row, with
targets shifted by one. Because consecutive batches continue the same rows,
the model can carry its hidden state from one batch to the next (truncated
BPTT): each batch back-propagates through `len` steps only, yet the state
has seen everything before it.

Under DDP, rows are dealt to ranks: every rank gets its own contiguous
streams, and the union over ranks is exactly the one-process layout.
"""

from __future__ import annotations

import torch
from torch.utils.data import Dataset, Sampler


def batchify(ids: torch.Tensor, n_streams: int) -> torch.Tensor:
    """(N,) -> (n_streams, N // n_streams), dropping the tail that does not fill a column."""
    width = ids.numel() // n_streams
    if width < 2:
        raise ValueError(f"{ids.numel()} tokens are too few for {n_streams} streams")
    return ids[: width * n_streams].view(n_streams, width)


def rank_rows(streams: torch.Tensor, rank: int, world_size: int) -> torch.Tensor:
    """The rows of this rank: r, r+W, r+2W, … (each rank keeps whole, contiguous rows)."""
    return streams[rank::world_size]


class StreamWindows(Dataset):
    """Index (start, length) -> (inputs, targets), each (rows, length)."""

    def __init__(self, streams: torch.Tensor):
        self.streams = streams

    def __len__(self) -> int:
        return self.streams.size(1) - 1

    def __getitem__(self, window: tuple[int, int]) -> dict[str, torch.Tensor]:
        start, length = window
        length = min(length, self.streams.size(1) - 1 - start)
        x = self.streams[:, start : start + length]
        y = self.streams[:, start + 1 : start + 1 + length]
        return {"input_ids": x, "targets": y}


class BPTTSampler(Sampler):
    """Yields (start, length) windows in stream order.

    With `random_length`, each window's length is drawn around `bptt` as in
    AWD-LSTM (bptt with p=0.95, bptt/2 otherwise, then N(len, 5)), from a
    generator seeded by (seed, epoch), so every rank draws the same windows
    and a resumed run draws the same ones again. Lightning calls `set_epoch`;
    `resume_from` (set by `ResumableLoader`) skips the windows done before a restart.
    """

    def __init__(self, n_positions: int, bptt: int, random_length: bool = False, seed: int = 0):
        self.n_positions = n_positions
        self.bptt = bptt
        self.random_length = random_length
        self.seed = seed
        self.epoch = 0
        self.resume_from = 0

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def windows(self) -> list[tuple[int, int]]:
        if not self.random_length:
            return [(s, self.bptt) for s in range(0, self.n_positions, self.bptt)]
        g = torch.Generator().manual_seed(self.seed * 100003 + self.epoch)
        out, start = [], 0
        while start < self.n_positions:
            base = self.bptt if torch.rand((), generator=g) < 0.95 else self.bptt / 2
            length = max(5, int(torch.normal(float(base), 5.0, (), generator=g)))
            out.append((start, length))
            start += length
        return out

    def __iter__(self):
        start, self.resume_from = self.resume_from, 0
        return iter(self.windows()[start:])

    def __len__(self) -> int:
        return len(self.windows())
