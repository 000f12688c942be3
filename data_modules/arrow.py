"""Reading encoded splits back out of Arrow without copying them into Python objects.

Every task's `encode_split` is a `Dataset.map(batched=True)` over a standalone
function (so `datasets` fingerprints it, with the vocabulary and options in
`fn_kwargs`, and a second run reuses the cache file); what the loaders then
need from the result is one column as numpy (the lengths the sampler buckets
by) or a sum over it, read batch by batch from the memory-mapped table.
"""

from __future__ import annotations

from collections.abc import Iterator

import datasets
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

MAP_BATCH = 1000  # rows per `Dataset.map` call: big enough to amortise the call, small enough to bound memory


def column(ds: datasets.Dataset, name: str) -> np.ndarray:
    """Column `name` of `ds` as a numpy array (in `ds`'s row order, selections included), read as one Arrow array."""
    values = ds.select_columns([name]).with_format("arrow")[:][name]
    return values.to_numpy() if len(values) else np.zeros(0, dtype=np.int64)


def batches(ds: datasets.Dataset, *names: str, size: int = 10_000) -> Iterator[dict[str, pa.Array]]:
    """Columns `names` of `ds`, `size` rows at a time, as Arrow arrays."""
    for batch in ds.select_columns(list(names)).with_format("arrow").iter(batch_size=size):
        yield {name: batch.column(name) for name in names}


def flat_values(ds: datasets.Dataset, name: str) -> tuple[int, set]:
    """How many values a list column holds in all, and the distinct ones."""
    count, seen = 0, set()
    for batch in batches(ds, name):
        flat = pc.list_flatten(batch[name])
        count += len(flat)
        seen.update(pc.unique(flat).to_pylist())
    return count, seen


def mapped(ds: datasets.Dataset, fn, **fn_kwargs) -> datasets.Dataset:
    """`ds` encoded by top-level `fn(batch, indices, **fn_kwargs)`, its columns replaced by `fn`'s, cached by fingerprint."""
    return ds.map(fn, batched=True, batch_size=MAP_BATCH, with_indices=True, fn_kwargs=fn_kwargs,
                  remove_columns=ds.column_names, desc=f"[seqlit] {fn.__name__}")
