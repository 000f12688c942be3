"""A language-model split as one memory-mapped token-id array, encoded once by `datasets` and reused.

Encoding is `Dataset.map(batched=True)` with `encode_batch` (a top-level
function whose vocabulary and options travel in `fn_kwargs`), so `datasets`'
fingerprint keys the Arrow file it writes into its cache by the source, the
vocabulary, the level and this code: a second run with the same inputs reads
that file instead of encoding again, and any change encodes anew. Each batch
of lines becomes one row holding the batch's ids one after another.

`token_array` then concatenates the rows once into a flat `.npy` beside the
Arrow file (named by the same fingerprint, written to a temporary name and
renamed, checked against the Arrow file's token count on every read) and
returns it memory-mapped: the corpus lives in the page cache, shared by every
process of the machine, and no process holds it in private memory. A lock
beside it makes concurrent processes (DDP ranks) encode once, the others wait
and map the same files.

The training split's token counts, which the vocabulary is ranked from, are
kept the same way (`token_counts`: a JSON file keyed by the split's
fingerprint and the level), so a cached setup reads neither the text nor the ids.

Tokens: a word-level line is its whitespace words then `<eos>`; a
character-level line is its characters then the newline, which plays `<eos>`.
"""

from __future__ import annotations

import json
import os
from collections import Counter
from collections.abc import Iterable
from contextlib import nullcontext
from itertools import repeat
from pathlib import Path

import datasets
import numpy as np
from datasets.fingerprint import Hasher
from filelock import FileLock

from seqlit.vocab import EOS

LINES_PER_BATCH = 10_000
# rows (batches of lines, ~0.5 M ids each on WikiText) the Arrow writer buffers before it writes: `datasets`'
# default of 1000 rows would hold a whole 100 M-token corpus in private memory before the first write
ROWS_PER_WRITE = 4


def clean(texts: Iterable[str | None]) -> list[str]:
    """A batch's lines as today's LM reads them: None as empty, trailing newlines removed."""
    return [(t or "").rstrip("\n") for t in texts]


def count_batch(counts: Counter, lines: list[str], level: str) -> None:
    """Add one batch of lines' tokens to `counts` (C-speed `Counter.update` over one string or word list)."""
    if level == "word":
        counts.update(" ".join(lines).split())
        counts[EOS] += len(lines)
    else:
        counts.update("".join(line + "\n" for line in lines))


def encode_text(text: str, index: dict[str, int], unk: int) -> np.ndarray:
    """Characters -> ids, through the distinct code points only (no per-character Python list)."""
    points = np.frombuffer(text.encode("utf-32-le"), dtype=np.uint32)
    distinct, inverse = np.unique(points, return_inverse=True)
    table = np.fromiter((index.get(chr(p), unk) for p in distinct), dtype=np.int32, count=len(distinct))
    return table[inverse.reshape(-1)]


def encode_lines(lines: list[str], index: dict[str, int], unk: int, level: str) -> np.ndarray:
    if level == "char":
        return encode_text("".join(line + "\n" for line in lines), index, unk)
    separator = f" {EOS} "  # a line's words then <eos>, as `line.split() + [EOS]` gives them
    words = (separator.join(lines) + separator).split()
    return np.fromiter(map(index.get, words, repeat(unk)), dtype=np.int32, count=len(words))


def encode_batch(batch: dict, tokens: list[str], unk: str, level: str, column: str) -> dict:
    """`Dataset.map` function: a batch of rows -> one row, the ids of its lines one after another."""
    index = {t: i for i, t in enumerate(tokens)}
    return {"ids": [encode_lines(clean(batch[column]), index, index[unk], level)]}


def token_counts(ds: datasets.Dataset, level: str, column: str) -> Counter:
    """Every token's count in `ds` (batch by batch), kept in a JSON file beside its cache files."""
    def count() -> Counter:
        counts: Counter = Counter()
        for batch in ds.select_columns([column]).iter(batch_size=LINES_PER_BATCH):
            count_batch(counts, clean(batch[column]), level)
        return counts

    if not ds.cache_files:
        return count()
    key = Hasher.hash((ds._fingerprint, level, column, "counts-1"))
    path = Path(ds.cache_files[0]["filename"]).with_name(f"seqlit-counts-{key}.json")
    with _lock(ds):
        try:
            return Counter(json.loads(path.read_text(encoding="utf-8")))
        except (OSError, ValueError):
            pass  # absent or damaged: counted again
        counts = count()
        tmp = path.with_name(f"{path.name}.{os.getpid()}.tmp")
        tmp.write_text(json.dumps(counts, ensure_ascii=False), encoding="utf-8")
        os.replace(tmp, path)
        return counts


def encoded_split(ds: datasets.Dataset, tokens: list[str], unk: str, level: str, column: str) -> np.ndarray:
    """`ds`'s ids as one flat int32 array: memory-mapped from the cache when `ds` lives in files, else in memory."""
    with _lock(ds):
        ids = ds.map(encode_batch, batched=True, batch_size=LINES_PER_BATCH, writer_batch_size=ROWS_PER_WRITE,
                     remove_columns=ds.column_names,
                     fn_kwargs={"tokens": tokens, "unk": unk, "level": level, "column": column},
                     desc="[seqlit] encoding tokens")
        return token_array(ids)


def token_array(ids: datasets.Dataset) -> np.ndarray:
    """The `ids` column flattened: one `.npy` beside the Arrow cache file, memory-mapped (see the module docstring)."""
    chunks = ids.data.column("ids").chunks
    total = sum(len(c.flatten()) for c in chunks)
    if not ids.cache_files:
        return np.concatenate([c.flatten().to_numpy() for c in chunks] or [np.zeros(0, np.int32)]).astype(np.int32)
    path = Path(ids.cache_files[0]["filename"]).with_name(f"seqlit-ids-{ids._fingerprint}.npy")
    try:
        flat = np.load(path, mmap_mode="r")
        if flat.shape == (total,) and flat.dtype == np.int32:
            return flat
    except (OSError, ValueError):
        pass  # absent, truncated or not an array: written again below
    tmp = path.with_name(f"{path.name}.{os.getpid()}.tmp")
    out = np.lib.format.open_memmap(tmp, mode="w+", dtype=np.int32, shape=(total,))
    at = 0
    for chunk in chunks:
        values = chunk.flatten().to_numpy()
        out[at : at + len(values)] = values
        at += len(values)
    out.flush()
    del out
    os.replace(tmp, path)
    return np.load(path, mmap_mode="r")


def _lock(ds: datasets.Dataset):
    """A lock beside `ds`'s cache files, held while encoding; nothing to lock for an in-memory dataset."""
    if not ds.cache_files:
        return nullcontext()
    return FileLock(str(Path(ds.cache_files[0]["filename"]).with_name(f"seqlit-encode-{ds._fingerprint}.lock")))
