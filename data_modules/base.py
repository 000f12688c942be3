"""What every seqlit data module shares: the one path from `path` to batches, and vocabularies that travel with checkpoints.

The path. `splits()` loads the source once (`load`: `path` through
loading.py; a task with a format of its own overrides it) and, for tasks that
allow it (`split_fractions`), cuts validation and test out of a source that
ships a training split only. `encoded(stage)` reads, checks and encodes what a
stage serves (train, validation, test: a split; predict: `predict_file`, or a
split) once, and the four loaders batch it: bucketed by length, dealt to DDP
ranks, shuffled by (seed, epoch) for training only, resumable mid-epoch; a
`predict_file` is checked whole and then streamed, chunk by chunk
(data_modules/predict_stream.py), so its size never reaches memory. A
task's module supplies only what is its own: which columns it reads,
`encode_split` / `encode_lines` (rows or raw lines -> examples), `lengths`,
`collate` and its vocabularies.

Vocabularies and label names are built from the training split the first
time the model needs a size (`data_spec`, linked into the model by the CLI),
and saved inside each checkpoint through `state_dict`. With `vocab_from` set
(the CLI sets it whenever `--ckpt_path` is given) they are read back from a
checkpoint instead, so `test`, `predict` and resumed `fit` use exactly the
vocabulary the weights were trained with, and prediction needs no training data.

Seeds. `seed: null`, every module's default, means the run's `seed_everything`;
it is read when first needed and written into the module's hyperparameters,
so a checkpoint records the seed its batches (or generated examples) were
drawn with, and a `--ckpt_path` run draws the same ones whatever its own seed.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import datasets
import pytorch_lightning as pl
from pytorch_lightning.utilities import rank_zero_info
from torch.utils.data import DataLoader

from data_modules.bucketing import BucketBatchSampler
from data_modules.loading import load_splits
from data_modules.predict_stream import check_all, chunks, stream_loader
from data_modules.resumable import ResumableLoader
from seqlit.io.checkpoints import load_checkpoint
from seqlit.errors import SeqlitError
from seqlit.io.storage import tried

SPLITS = ("train", "validation", "test")
# the stages each command reads: `check(command)` reads them all before the trainer writes anything
COMMAND_STAGES = {"fit": ("train", "validation"), "validate": ("validation",), "test": ("test",), "predict": ("predict",)}


class SeqDataModule(pl.LightningDataModule):
    """Base class. Subclasses implement `build_vocab()`, `vocab_state()`, `load_vocab_state()`, `spec()`,
    `encode_split()` (and `encode_lines()` if they read a `predict_file`), `lengths()` and `collate()`."""

    # how training batches are bucketed: noise on the lengths, and pools of this many batches (None: the whole split)
    bucket_noise: float = 0.1
    bucket_pool: int | None = 50
    num_workers: int = 0
    # what one line of a predict file holds, for messages
    predict_unit = "text"
    # what to say when `predict` has nothing to read (no `predict_file`, no `predict_split`)
    predict_hint = "pass --data.init_args.predict_file FILE (one per line, or .jsonl)"

    def __init__(self, *, batch_size: int, eval_batch_size: int, seed: int | None = None, vocab_from: str | None = None,
                 path: str | None = None, name: str | None = None, predict_file: str | None = None,
                 val_split: str = "validation", test_split: str = "test", predict_split: str | None = None,
                 split_fractions: Sequence[float] | None = None):
        super().__init__()
        positive("data.batch_size", batch_size)
        positive("data.eval_batch_size", eval_batch_size)
        if split_fractions is not None and (abs(sum(split_fractions) - 1.0) > 1e-6 or min(split_fractions) <= 0):
            raise SeqlitError(f"data.split_fractions must be three positive fractions summing to 1, got {split_fractions}")
        self.batch_size, self.eval_batch_size, self._seed, self.vocab_from = batch_size, eval_batch_size, seed, vocab_from
        self.path, self.name, self.predict_file, self.split_fractions = path, name, predict_file, split_fractions
        self.val_split, self.test_split, self.predict_split = val_split, test_split, predict_split
        self._vocab_ready = False
        self._splits: datasets.DatasetDict | None = None
        self._encoded: dict[str, Any] = {}
        self.predict_line_count: int | None = None  # lines of `predict_file`, once read to its end

    # -- subclass hooks ----------------------------------------------------
    def build_vocab(self) -> None:
        """Build vocabularies / label names from the training split."""
        raise NotImplementedError

    def vocab_state(self) -> dict[str, Any]:
        """Vocabularies and label names as plain data (lists, dicts, str, int)."""
        raise NotImplementedError

    def load_vocab_state(self, state: dict[str, Any]) -> None:
        raise NotImplementedError

    def spec(self) -> dict[str, Any]:
        """Sizes and names the model needs (vocab size, pad id, label names …): small plain data."""
        raise NotImplementedError

    def encode_split(self, name: str, stage: str):
        """Examples (a sized dataset) of source split `name`, as `stage` uses them; bad data raises `SeqlitError`."""
        raise NotImplementedError

    def encode_lines(self, lines: list[tuple[int, str | dict]]):
        """Examples of `predict_file`'s lines (`predict_lines()`), no labels needed."""
        raise NotImplementedError

    def lengths(self, examples) -> list[int]:
        """Each example's length, which batches are bucketed by."""
        raise NotImplementedError

    def collate(self, examples: list) -> dict:
        raise NotImplementedError

    # -- the source ----------------------------------------------------------
    def load(self) -> datasets.DatasetDict:
        """The source's splits as stored."""
        return load_splits(self.path, self.name)

    def splits(self) -> datasets.DatasetDict:
        """Every split of the source, loaded once; with `split_fractions`, missing validation/test cut from train."""
        if self._splits is None:
            data = self.load()
            self._splits = data if not self.split_fractions or set(SPLITS) <= set(data) else self._carve(data)
        return self._splits

    def _carve(self, data: datasets.DatasetDict) -> datasets.DatasetDict:
        if "train" not in data:
            raise SeqlitError(f"{self.path!r} has no train split (found: {', '.join(data)})")
        train, n = data["train"], len(data["train"])
        a = int(n * self.split_fractions[0])
        b = a + int(n * self.split_fractions[1])
        rank_zero_info(f"[seqlit] {self.path!r} has no {' or '.join(s for s in SPLITS if s not in data)} split: "
                       f"cut the training rows in order by data.split_fractions={tuple(self.split_fractions)}")
        cut = {"train": train.select(range(a)), "validation": train.select(range(a, b)), "test": train.select(range(b, n))}
        return datasets.DatasetDict({**cut, **{s: data[s] for s in ("validation", "test") if s in data}})

    def split(self, name: str, **columns: str) -> datasets.Dataset:
        """Source split `name`, checked to hold `columns` (init argument -> the column it names)."""
        data = self.splits()
        if name not in data:
            fix = "name a file after its split (train.parquet, ptb.train.txt, …)" if name == "train" else \
                "set data.init_args.val_split / test_split / predict_split"
            raise SeqlitError(f"{self.path!r} has no {name!r} split (found: {', '.join(data)}): {fix}")
        ds = data[name]
        for arg, column in columns.items():
            if column not in ds.column_names:
                raise SeqlitError(f"{self.path!r} split {name!r} has no column {column!r} "
                                  f"(columns: {', '.join(ds.column_names)}): set --data.init_args.{arg}")
        return ds

    def predict_lines(self) -> list[tuple[int, str | dict]]:
        """`predict_file`'s non-blank lines and their 0-based numbers: text, or JSON objects for `.jsonl` / `.json`
        (all of them in a list: `predict` itself streams them, data_modules/predict_stream.py)."""
        self.check_predict_file()
        lines = [line for _, chunk in chunks(self, 1 << 16) for line in chunk]
        if not lines:
            raise SeqlitError(f"data.predict_file {self.predict_file!r} holds no {self.predict_unit}s: "
                              f"write one {self.predict_unit} per line")
        return lines

    def check_predict_file(self) -> None:
        if not Path(self.predict_file).expanduser().is_file():
            raise SeqlitError(f"data.predict_file {self.predict_file!r} does not exist ({tried(self.predict_file)}): "
                              f"pass a text file (one {self.predict_unit} per line) or a .jsonl file")

    def line_texts(self, lines: list[tuple[int, str | dict]], *keys: str) -> tuple[list[int], list[str]]:
        """Line numbers and texts of `predict_lines()`: each plain line, or the first of `keys` a JSON line holds."""
        index, texts = [], []
        for n, line in lines:
            text = line if isinstance(line, str) else next((line[k] for k in keys if k in line), None)
            if not isinstance(text, str):
                raise SeqlitError(f"{self.predict_file}:{n + 1}: each line needs a {' or '.join(map(repr, keys))} string")
            index.append(n)
            texts.append(text)
        return index, texts

    # -- stages ------------------------------------------------------------------
    def encoded(self, stage: str):
        """What `stage` (train, validation, test, predict) serves, read, checked and encoded once."""
        if stage not in self._encoded:
            self.ensure_vocab()
            if stage == "predict" and self.predict_file:  # read and checked here, streamed by `loader`
                self.check_predict_file()
                if not check_all(self):
                    raise SeqlitError(f"data.predict_file {self.predict_file!r} holds no {self.predict_unit}s: "
                                      f"write one {self.predict_unit} per line")
                self._encoded[stage] = self.predict_file
            elif stage == "predict" and self.predict_split is None:
                raise SeqlitError(f"{type(self).__name__} has nothing to predict: {self.predict_hint}")
            else:
                name = {"train": "train", "validation": self.val_split, "test": self.test_split,
                        "predict": self.predict_split}[stage]
                self._encoded[stage] = self.encode_split(name, stage)
        return self._encoded[stage]

    def check(self, command: str) -> None:
        """Read and check every stage that `command` (fit, validate, test, predict) uses.

        The CLI calls this before the trainer starts, so bad data ends the run before anything
        is written (W&B run, config.yaml, checkpoints, predictions) rather than minutes into it.
        """
        self.ensure_vocab()
        for stage in COMMAND_STAGES.get(command, ()):
            self.encoded(stage)

    @property
    def seed(self) -> int:
        """The seed of batch shuffling (and of generated data): `seed`, or the run's, recorded in the hyperparameters."""
        if self._seed is None:
            self._seed = int(os.environ.get("PL_GLOBAL_SEED", 0))
            if "seed" in self.hparams:
                self.hparams["seed"] = self._seed
        return self._seed

    def world(self) -> tuple[int, int]:
        """(rank, number of ranks): each rank loads its own share."""
        trainer = self.trainer
        return (trainer.global_rank, trainer.world_size) if trainer is not None else (0, 1)

    # -- loaders -------------------------------------------------------------------
    def setup(self, stage: str | None = None) -> None:
        self.ensure_vocab()

    def loader(self, stage: str) -> DataLoader:
        """Batches of `stage`'s examples, bucketed by length and dealt to ranks; shuffled for training only."""
        examples, (rank, world), train = self.encoded(stage), self.world(), stage == "train"
        if stage == "predict" and self.predict_file:
            return stream_loader(self, rank, world)
        size = self.batch_size if train else self.eval_batch_size
        lengths = self.lengths(examples)
        pool = self.bucket_pool or len(lengths) // size + 1
        sampler = BucketBatchSampler(lengths, size, shuffle=train, seed=self.seed, num_replicas=world, rank=rank,
                                     pool_batches=pool, noise=self.bucket_noise)
        return ResumableLoader(examples, batch_sampler=sampler, collate_fn=self.collate, num_workers=self.num_workers,
                               persistent_workers=self.num_workers > 0)

    def train_dataloader(self) -> DataLoader:
        return self.loader("train")

    def val_dataloader(self) -> DataLoader:
        return self.loader("validation")

    def test_dataloader(self) -> DataLoader:
        return self.loader("test")

    def predict_dataloader(self) -> DataLoader:
        return self.loader("predict")

    # -- vocabularies ----------------------------------------------------------------
    def ensure_vocab(self) -> None:
        if self._vocab_ready:
            return
        if self.vocab_from:
            ckpt = load_checkpoint(self.vocab_from)
            key = type(self).__qualname__
            if key not in ckpt:
                found = [k for k, v in ckpt.items() if isinstance(v, dict) and "vocab_format" in v]
                raise SeqlitError(
                    f"checkpoint {self.vocab_from!r} was written by another task ({', '.join(found) or 'unknown data module'}), "
                    f"not {key}: use a checkpoint trained with {key} or the matching config"
                )
            self.load_vocab_state(ckpt[key]["vocab"])
        else:
            self.build_vocab()
        self._vocab_ready = True

    @property
    def data_spec(self) -> dict[str, Any]:
        """Linked into the model's `data_spec` argument at instantiation."""
        self.ensure_vocab()
        return self.spec()

    def state_dict(self) -> dict[str, Any]:
        self.ensure_vocab()
        return {"vocab_format": 1, "vocab": self.vocab_state()}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        if self._vocab_ready and state_dict.get("vocab") != self.vocab_state():
            raise SeqlitError(
                "the checkpoint's vocabulary or label set does not match the one built from the data: "
                "resume with the same data, or pass --data.init_args.vocab_from CHECKPOINT"
            )
        self.load_vocab_state(state_dict["vocab"])
        self._vocab_ready = True


def positive(name: str, value: int | float | None, allow_none: bool = False) -> None:
    """Reject zero/negative sizes with a message naming the argument."""
    if value is None and allow_none:
        return
    if value is None or value <= 0:
        section, _, arg = name.rpartition(".")
        fix = f"--{section}.init_args.{arg}" if section else f"--{name}"
        raise SeqlitError(f"{name} must be a positive number, got {value!r}: set {fix} to a value above 0")
