"""Local parquet files as a `datasets` stream decoded a batch of rows at a time, whatever their row groups' size.

`load_dataset("parquet", streaming=True)` reads through `pyarrow.dataset`, which decodes a whole row group
before cutting it into batches (its `batch_size` only slices what is already in memory), and one row group can
be the whole file (`Dataset.to_parquet` wrote CoNLL-2003's train split x10, 140,410 sentences, as one): every
pass over such a stream held the file decoded, so memory grew with the corpus (+160 MB at x10).
`pyarrow.parquet.ParquetFile.iter_batches` decodes page by page: memory is one batch of `ROWS` rows. Shards are
the files, in order, as `datasets`' parquet builder deals them, so `split_dataset_by_node` gives each rank
the same rows as it did. The tables go to `datasets`' own Arrow-backed iterable (as the builder's do), so a
batched `map` reads Arrow batches, not rows rebuilt one by one.
"""

from __future__ import annotations

from collections.abc import Iterator

import datasets
import pyarrow as pa
import pyarrow.parquet as pq
from datasets.iterable_dataset import ArrowExamplesIterable

ROWS = 1_000  # rows decoded at a time


def parquet_stream(files: list[str], split: str) -> datasets.IterableDataset:
    """`files`' rows, in order, as an `IterableDataset` with the first file's features (its `datasets` metadata kept)."""
    features = datasets.Features.from_arrow_schema(pq.read_schema(files[0]))
    return datasets.IterableDataset(ArrowExamplesIterable(_tables, {"files": list(files)}),
                                    info=datasets.DatasetInfo(features=features), split=datasets.NamedSplit(split))


def _tables(files: list[str]) -> Iterator[tuple[tuple[int, int], pa.Table]]:
    """(file, batch) keys and tables of at most `ROWS` rows, as the parquet builder's `_generate_tables` yields them."""
    for i, path in enumerate(files):
        with pq.ParquetFile(path) as file:
            for j, batch in enumerate(file.iter_batches(batch_size=ROWS)):
                yield (i, j), pa.Table.from_batches([batch])
