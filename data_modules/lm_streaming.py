"""`streaming: true` for the language model: a corpus read front to back, never materialised.

The source is a `datasets.IterableDataset` (`load_dataset(..., streaming=True)`:
local files or a hub id, nothing downloaded whole). Under DDP its shards are
dealt to ranks by `datasets.distributed.split_dataset_by_node`; each rank
encodes its share batch by batch and fills its own `rows` parallel streams
from consecutive blocks of it: a block is the next rows × L tokens, row r of
it the r-th consecutive L (+1 for the last target) of them, with L = `bptt` ×
`WINDOWS_PER_BLOCK`. Windows of `bptt` columns walk each block, so the hidden
state carries over within a block exactly as in the map-style streams and,
between blocks, continues the row with the next piece of the stream. Memory is
one block plus one batch of lines, at any corpus size.

Ranks' shares need not hold the same number of windows; DDP needs every rank
to step together, so under torch.distributed each window is first agreed on
(an all-reduce of "I have one", MIN): all ranks stop at the shortest share.

Mid-epoch resume counts windows, like `ResumableLoader`: the loader's
`state_dict` is how many windows were trained on this epoch, and a resumed
iteration reads the stream again and skips that many without serving them
(the order is fixed, so they are the same windows). A loader of unknown
length is read one window ahead by Lightning's fetcher (it must try the next
window to know the epoch goes on), so a window is counted when the one after
it is asked for: the count is then the windows handed to training, not those
fetched. An epoch that ran to its end leaves 0, so the next epoch starts at
its beginning.
"""

from __future__ import annotations

from typing import Any

import datasets
import numpy as np
import torch
import torch.distributed as dist
from datasets.distributed import split_dataset_by_node
from torch.utils.data import DataLoader, IterableDataset

from data_modules.token_stream import LINES_PER_BATCH, clean, encode_lines

WINDOWS_PER_BLOCK = 64


class StreamedWindows(IterableDataset):
    """(inputs, targets) windows of `rows` streams filled block by block from a streamed split (module docstring)."""

    def __init__(self, source: datasets.IterableDataset, tokens: list[str], unk: str, level: str, column: str,
                 rows: int, bptt: int, rank: int = 0, world_size: int = 1):
        self.source = split_dataset_by_node(source, rank, world_size) if world_size > 1 else source
        self.tokens, self.unk, self.level, self.column = tokens, unk, level, column
        self.rows, self.bptt = rows, bptt
        self.resume_from = 0

    def blocks(self):
        """(rows, width + 1) id blocks: full ones of width L, then what is left (width >= 1)."""
        index = {t: i for i, t in enumerate(self.tokens)}
        n, width = self.rows, self.bptt * WINDOWS_PER_BLOCK
        buffer = np.zeros(0, dtype=np.int32)
        for batch in self.source.select_columns([self.column]).iter(batch_size=LINES_PER_BATCH):
            buffer = np.concatenate([buffer, encode_lines(clean(batch[self.column]), index, index[self.unk], self.level)])
            while len(buffer) >= n * width + 1:
                yield _block(buffer, n, width)
                buffer = buffer[n * width :]
        if (len(buffer) - 1) // n >= 1:
            yield _block(buffer, n, (len(buffer) - 1) // n)

    def __iter__(self):
        skip, self.resume_from = self.resume_from, 0
        for block in self.blocks():
            for start in range(0, block.shape[1] - 1, self.bptt):
                if skip:
                    skip -= 1
                    continue
                end = min(start + self.bptt, block.shape[1] - 1)
                yield {"input_ids": torch.from_numpy(block[:, start:end].astype(np.int64)),
                       "targets": torch.from_numpy(block[:, start + 1 : end + 1].astype(np.int64))}


def _block(buffer: np.ndarray, rows: int, width: int) -> np.ndarray:
    """Row r = buffer[r*width : r*width + width + 1]: consecutive pieces, each ending on the next one's first id."""
    return buffer[np.arange(rows)[:, None] * width + np.arange(width + 1)]


class StreamLoader(DataLoader):
    """A DataLoader over `StreamedWindows` whose `state_dict` is the windows handed out this epoch."""

    def __init__(self, windows: StreamedWindows):
        super().__init__(windows, batch_size=None)
        self.served, self.epoch = 0, 0

    def __iter__(self):
        self.served = self.dataset.resume_from
        windows = super().__iter__()
        while _agreed((window := next(windows, None)) is not None):
            yield window
            self.served += 1  # counted when the next window is asked for: see the module docstring
        self.served = 0  # the epoch ran to its end: a checkpoint now resumes at the next one's start
        self.epoch += 1

    def state_dict(self) -> dict[str, Any]:
        return {"epoch": self.epoch, "batches": self.served}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.epoch, self.dataset.resume_from = state["epoch"], state["batches"]


def _agreed(have: bool) -> bool:
    """`have` on every rank (an all-reduce MIN under torch.distributed), so ranks with uneven shares stop together."""
    if not (dist.is_available() and dist.is_initialized()) or dist.get_world_size() == 1:
        return have
    flag = torch.tensor([int(have)], device="cuda" if dist.get_backend() == "nccl" else "cpu")
    dist.all_reduce(flag, op=dist.ReduceOp.MIN)
    return bool(flag.item())
