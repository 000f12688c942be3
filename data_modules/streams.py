"""Contiguous token streams for stateful language-model training.

A corpus is one long id sequence. `batchify` cuts it into `n` parallel
streams (rows); batch k is the column window [s, s+len) of every row, with
targets shifted by one. Because consecutive batches continue the same rows,
the model can carry its hidden state from one batch to the next (truncated
BPTT): each batch back-propagates through `len` steps only, yet the state
has seen everything before it.

Under DDP, rows are dealt to ranks: every rank gets its own contiguous
streams, and the union over ranks is exactly the one-process layout.

The ids may be a torch tensor or a numpy array, memory-mapped from the
`datasets` cache (token_stream.py): `batchify` and `rank_rows` return views
of it (row r of n is the range [r*width, (r+1)*width)), and only each
window's slice is copied into a tensor.
"""

from __future__ import annotations

import numpy as np
import torch
from torch.utils.data import Dataset, Sampler


def batchify(ids: torch.Tensor | np.ndarray, n_streams: int) -> torch.Tensor | np.ndarray:
    """(N,) -> (n_streams, N // n_streams), a view, dropping the tail that does not fill a column."""
    width = len(ids) // n_streams
    if width < 2:
        raise ValueError(f"{len(ids)} tokens are too few for {n_streams} streams")
    return ids[: width * n_streams].reshape(n_streams, width)


def rank_rows(streams: torch.Tensor | np.ndarray, rank: int, world_size: int) -> torch.Tensor | np.ndarray:
    """The rows of this rank: r, r+W, r+2W, … (each rank keeps whole, contiguous rows)."""
    return streams[rank::world_size]


class StreamWindows(Dataset):
    """Index (start, length) -> (inputs, targets), each (rows, length) int64."""

    def __init__(self, streams: torch.Tensor | np.ndarray):
        self.streams = streams

    def __len__(self) -> int:
        return self.streams.shape[1] - 1

    def __getitem__(self, window: tuple[int, int]) -> dict[str, torch.Tensor]:
        start, length = window
        length = min(length, self.streams.shape[1] - 1 - start)
        x = self.streams[:, start : start + length]
        y = self.streams[:, start + 1 : start + 1 + length]
        return {"input_ids": _tensor(x), "targets": _tensor(y)}


def _tensor(rows: torch.Tensor | np.ndarray) -> torch.Tensor:
    """A window as int64: a tensor's view as it is, an array's slice copied (it may be read-only or reversed)."""
    return rows if isinstance(rows, torch.Tensor) else torch.from_numpy(np.array(rows, dtype=np.int64))


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
