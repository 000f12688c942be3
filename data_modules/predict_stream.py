"""A predict file read and batched as a stream: memory flat in the file's size, batches in input order by chunk.

The whole file used to be read into a list of lines, encoded into a list of examples and predicted before
anything was written (a 10 MB input: minutes and 1.4 GB before the first output line). Here the file is read
line by line (`numbered_lines`, split on '\\n' only, UTF-8 checked with the byte offset named, a byte-order
mark dropped), cut into chunks of `CHUNK_BATCHES` batches' worth of lines, and each chunk is encoded, sorted by
length (bucketed batches, little padding) and batched on its own. So at most one chunk's examples are in
memory, and every line of chunk c comes before every line of chunk c + 1: the writer
(seqlit/callbacks/predictions.py) puts a chunk's records back in input order and writes them as soon as the
next chunk starts (`FLUSH`: each batch carries the first line of its chunk). Under DDP, chunk c goes to rank
c mod world size, whole.
"""

from __future__ import annotations

import bz2
import gzip
import json
from collections.abc import Iterator
from pathlib import Path

import numpy as np
from torch.utils.data import DataLoader, IterableDataset

from seqlit.errors import SeqlitError

CHUNK_BATCHES = 50  # batches of lines encoded and bucketed together (what the map-style sampler pools)
FLUSH = "flush_below"  # batch key: every line before it was in an earlier batch of this rank
BOM = "\ufeff"


def numbered_lines(path: Path, name: str) -> Iterator[tuple[int, str]]:
    """(0-based number, text) of each line of a UTF-8 file (`.gz` / `.bz2` decompressed), read incrementally."""
    opener = {".gz": gzip.open, ".bz2": bz2.open}.get(path.suffix.lower(), open)
    offset = 0
    with opener(path, "rb") as f:
        for n, raw in enumerate(f):  # binary lines end at b"\n" only, as the data modules split them
            try:
                line = raw.decode("utf-8")
            except UnicodeDecodeError as err:
                raise SeqlitError(f"{name} is not UTF-8 text ({err.reason} at byte {offset + err.start}): "
                                  "re-encode it as UTF-8") from err
            offset += len(raw)
            line = line.rstrip("\n").rstrip("\r")
            yield n, (line[1:] if n == 0 and line.startswith(BOM) else line)


def parsed(lines: Iterator[tuple[int, str]], source: str, jsonl: bool) -> Iterator[tuple[int, str | dict]]:
    """The non-blank lines, as text or (for `.jsonl` / `.json`) JSON objects; a bad one is one line naming it."""
    for n, line in lines:
        if not line.strip():
            continue
        if jsonl:
            try:
                line = json.loads(line)
            except json.JSONDecodeError as err:
                raise SeqlitError(f"{source}:{n + 1}: not valid JSON ({err.msg}): write one JSON object per line") from err
            if not isinstance(line, dict):
                raise SeqlitError(f"{source}:{n + 1}: not a JSON object: write one JSON object per line")
        yield n, line


def chunks(module, lines_per_chunk: int) -> Iterator[tuple[int, list[tuple[int, str | dict]]]]:
    """(first line number, parsed non-blank lines) of each chunk of `lines_per_chunk` lines of the predict file."""
    path = Path(module.predict_file).expanduser()
    jsonl, start, raw = path.suffix.lower() in (".jsonl", ".json"), 0, []
    for n, line in numbered_lines(path, f"data.predict_file {module.predict_file!r}"):
        if n - start >= lines_per_chunk:
            yield start, list(parsed(iter(raw), module.predict_file, jsonl))
            start, raw = n, []
        raw.append((n, line))
    module.predict_line_count = start + len(raw)
    yield start, list(parsed(iter(raw), module.predict_file, jsonl))


def check_all(module) -> int:
    """Read and encode every chunk (bad input raises before anything is predicted); the number of examples."""
    size = module.eval_batch_size * CHUNK_BATCHES
    return sum(len(module.encode_lines(lines)) for _, lines in chunks(module, size) if lines)


class PredictBatches(IterableDataset):
    """This rank's batches of the predict file, chunk by chunk (see the module's docstring)."""

    def __init__(self, module, rank: int = 0, world: int = 1):
        self.module, self.rank, self.world = module, rank, world

    def __iter__(self):
        module, size = self.module, self.module.eval_batch_size
        for c, (start, lines) in enumerate(chunks(module, size * CHUNK_BATCHES)):
            if c % self.world != self.rank or not lines:
                continue
            examples = module.encode_lines(lines)
            order = np.argsort(np.asarray(module.lengths(examples)), kind="stable")
            for i in range(0, len(order), size):
                batch = module.collate([examples[int(j)] for j in order[i:i + size]])
                batch[FLUSH] = start
                yield batch


def stream_loader(module, rank: int = 0, world: int = 1) -> DataLoader:
    """The predict loader: batches made by `PredictBatches` in this process (`batch_size=None`)."""
    return DataLoader(PredictBatches(module, rank, world), batch_size=None)
