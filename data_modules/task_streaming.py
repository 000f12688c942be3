"""`streaming: true` for the example tasks (tagging, sentiment): batches from a stream, never a materialised split.

The source is the LM's (`loading.stream_splits`: local files or a hub id,
`load_dataset(..., streaming=True)`, one code path) and each split is encoded
lazily by the task's own batched `encode` function (`streamed_map`, the same
function and options as the map-style `Dataset.map`, so a bad row raises the
same one-line error, named by its row number in the stream).

Training: the stream's shards are dealt to ranks (`split_dataset_by_node`),
read through `datasets`' shuffle buffer (`SHUFFLE_BUFFER` examples, re-seeded
with (seed, epoch)), and bucketed: every `batch_size × BUCKET_BATCHES` examples
are sorted by length and cut into batches whose order is shuffled, so most
batches hold sentences of similar lengths and memory stays one pool. Ranks stop
together at the shortest share (`StreamLoader`'s all-reduce, as for the LM).

Evaluation: every rank reads its whole split, in order, not dealt: no rank is
left without a batch, and every rank scores every example once. Under DDP the
summed metric states (counts, sums) are then the one-rank ones times the number
of ranks, so the ratios logged (accuracy, F1, mean loss) are exactly one rank's.

Mid-epoch resume counts batches (`StreamLoader.state_dict`); a resumed epoch
reads the stream again with the same (seed, epoch) and skips that many batches
without collating them, so it serves the same batches as the interrupted run.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import datasets
import numpy as np
from datasets.distributed import split_dataset_by_node
from torch.utils.data import IterableDataset

from data_modules.arrow import MAP_BATCH
from data_modules.base import COMMAND_STAGES, SPLITS
from data_modules.loading import stream_splits
from data_modules.lm_streaming import StreamLoader
from seqlit.errors import SeqlitError

SHUFFLE_BUFFER = 1_000  # examples in `datasets`' shuffle buffer (training only)
BUCKET_BATCHES = 50  # batches per length-sorted pool (training only), like `SeqDataModule.bucket_pool`


def streamed_splits(path: str, name: str | None, needed=SPLITS) -> datasets.IterableDatasetDict:
    """`path`'s splits as streams with known columns, the `needed` ones checked: a stream cannot be carved into splits."""
    data = stream_splits(path, name)
    missing = [s for s in dict.fromkeys(needed) if s not in data]
    if missing:
        raise SeqlitError(f"data.streaming needs {path!r} to ship its own {', '.join(missing)} split(s) (found: "
                          f"{', '.join(data)}): a stream cannot be cut into splits; pass a folder with "
                          "train/validation/test files, or set --data.init_args.streaming false")
    return datasets.IterableDatasetDict({s: resolved(d) for s, d in data.items()})


def streamed_map(ds: datasets.IterableDataset, fn, **fn_kwargs) -> datasets.IterableDataset:
    """`arrow.mapped` for a stream: `fn(batch, indices, **fn_kwargs)` applied lazily, its columns replacing `ds`'s.

    Only the input columns `fn` does not write are removed: datasets 2.21 and 3.0 drop a removed column from a
    stream even where `fn` returns it (their `IterableDataset.map`; `Dataset.map` and datasets 5.2 keep it). `fn`'s
    columns are those it writes for an empty batch (nothing read)."""
    inputs = list(resolved(ds).column_names)
    written = fn({c: [] for c in inputs}, [], **fn_kwargs)
    return ds.map(fn, batched=True, batch_size=MAP_BATCH, with_indices=True, fn_kwargs=fn_kwargs,
                  remove_columns=[c for c in inputs if c not in written])


def resolved(ds: datasets.IterableDataset) -> datasets.IterableDataset:
    """`ds` with its features (hence column names) known, read from the first rows when the builder did not say."""
    return ds if ds.column_names is not None else ds._resolve_features()


def first_batches(ds: datasets.IterableDataset, limit: int | None, size: int = MAP_BATCH) -> Iterator[dict]:
    """The first `limit` rows of `ds` (all of them if None), `size` at a time as dicts of lists: a bounded pass."""
    left = limit
    for batch in ds.iter(batch_size=size):
        if left is not None:
            batch = {k: v[:left] for k, v in batch.items()}
            left -= len(next(iter(batch.values()), []))
        yield batch
        if left is not None and left <= 0:
            return


def read_evaluation_splits(dm, command: str) -> None:
    """`check` for a stream: read every evaluation split `command` uses through once, nothing kept, so a bad row
    anywhere in them ends the run before the trainer starts, as on the map-style path. (Resolving a stream's
    columns reads only its first `MAP_BATCH` rows; training rows are read by the vocabulary's first pass, up to
    `vocab_max_rows`: a bad row past that is found when training reaches it.) Costs one validation pass."""
    for stage in COMMAND_STAGES.get(command, ()):
        if stage != "train" and not (stage == "predict" and dm.predict_file):
            for _ in dm.encoded(stage).iter(batch_size=MAP_BATCH):
                pass


def is_empty(ds: datasets.IterableDataset) -> bool:
    """Whether the stream holds no row (reads one row at most)."""
    return next(iter(ds.take(1)), None) is None


class StreamedBatches(IterableDataset):
    """Collated batches of a streamed, encoded split (module docstring): bucketed and shuffled when `train`."""

    def __init__(self, examples: datasets.IterableDataset, collate: Callable[[list[dict]], dict], batch_size: int,
                 train: bool, seed: int, rank: int = 0, world_size: int = 1):
        dealt = train and world_size > 1
        self.examples = split_dataset_by_node(examples, rank, world_size) if dealt else examples
        self.collate, self.batch_size, self.train, self.seed = collate, batch_size, train, seed
        self.epoch, self.resume_from = 0, 0

    def batches(self) -> Iterator[list[dict]]:
        """Lists of examples: in stream order for evaluation; length-bucketed pools, shuffled, for training."""
        if not self.train:
            batch = []
            for example in self.examples:
                batch.append(example)
                if len(batch) == self.batch_size:
                    yield batch
                    batch = []
            if batch:
                yield batch
            return
        stream = self.examples.shuffle(seed=self.seed, buffer_size=SHUFFLE_BUFFER)
        stream.set_epoch(self.epoch)
        rng, pool = np.random.default_rng([self.seed, self.epoch]), []
        for example in stream:
            pool.append(example)
            if len(pool) == self.batch_size * BUCKET_BATCHES:
                yield from _bucketed(pool, self.batch_size, rng)
                pool = []
        yield from _bucketed(pool, self.batch_size, rng)

    def __iter__(self):
        skip, self.resume_from = self.resume_from, 0
        for batch in self.batches():
            if skip:
                skip -= 1
                continue
            yield self.collate(batch)


def _bucketed(pool: list[dict], size: int, rng: np.random.Generator) -> list[list[dict]]:
    """`pool` sorted by length (ties in random order), cut into batches of `size`, in random order."""
    order = sorted(range(len(pool)), key=lambda i: pool[i]["length"])
    cut = [[pool[i] for i in order[start : start + size]] for start in range(0, len(order), size)]
    return [cut[i] for i in rng.permutation(len(cut))]


class TaskStreamLoader(StreamLoader):
    """`StreamLoader` over `StreamedBatches`: the loader's epoch (kept in its state) re-seeds the dataset's shuffle."""

    def __iter__(self):
        self.dataset.epoch = self.epoch
        yield from super().__iter__()


def stream_loader(examples, collate, batch_size: int, train: bool, seed: int, rank: int, world: int) -> TaskStreamLoader:
    return TaskStreamLoader(StreamedBatches(examples, collate, batch_size, train, seed, rank, world))
