"""Many-to-one data: one text in, one label out (SST-2, IMDB, any text/label table).

A small regex tokenizer splits clitics the Penn Treebank way, so raw text at `predict` meets SST-2's tokens;
`tokenizer: bpe` trains subword pieces on the training words (data_modules/subword.py). Label -1 (or missing)
means unlabelled: left out of training and scoring, still read by `predict`; any other unknown label is an
error. `carve_validation` carves a validation split from train (data_modules/carving.py). Documents longer
than `max_length` are cut, counted and logged. Streaming: data_modules/task_streaming.py, docs/data_arrow_tasks.md.
"""

from __future__ import annotations

from collections import Counter
from typing import Literal

import datasets
import numpy as np
import torch
from pytorch_lightning.utilities import rank_zero_info

from data_modules import sentiment_encode
from data_modules.arrow import batches, column, mapped
from data_modules.base import SeqDataModule, positive
from data_modules.bucketing import pad
from data_modules.carving import carve
from data_modules.sentiment_encode import TOKEN, UNLABELLED, label_id, tokenize  # noqa: F401  (this module's API)
from data_modules.subword import SubwordVocab
from data_modules.task_streaming import (first_batches, is_empty, read_evaluation_splits, stream_loader, streamed_map,
                                         streamed_splits)
from seqlit.errors import SeqlitError
from seqlit.vocab import PAD, UNK, Vocab

CARVED = "carved"  # the split `carve_validation` adds


class SentimentData(SeqDataModule):
    """Text classification from a hub dataset, a folder of split files, or a single file.

    Args:
        path: hub id (`stanfordnlp/sst2`, `imdb`) or a local folder/file (`../shared/data/sst2`).
        name: hub configuration name, if the hub dataset has several.
        text_column / label_column: columns holding the text and the label.
        label_names: class names in id order; default: the `ClassLabel` names of the label column.
        val_split: split used for validation (IMDB on the hub has none: use `test`; `carved` with `carve_validation`).
        test_split: split scored by `test` (SST-2's test is unlabelled: its configs use `validation`).
        predict_split: split read by `predict` when no `predict_file` is given.
        carve_validation: carve this many whole sentences out of train as the split `carved`, and take
            every training row that is a phrase of one of them out of train (SST-2: 872, GLUE dev's size);
            `val_split` must then be `carved`. None: no carving.
        carve_seed: seed of the carving (fixed apart from the run's seed, so that every seed of a
            benchmark entry selects on the same sentences).
        predict_file: raw text for `predict`, one text per line (blank lines skipped), or `.jsonl`
            objects holding `text_column` (or `text`); needs neither `path` nor labels.
        lowercase: lower-case text before tokenizing (SST-2 is lower-cased already).
        tokenizer: `word` (a vocabulary of training words) or `bpe` (subword pieces trained on the
            training words with HF `tokenizers`).
        subword_vocab_size: size of the `bpe` vocabulary, specials included.
        max_vocab: cap on the word vocabulary's size, specials included (None: no cap; `word` only).
        min_freq: words seen fewer times in training become `<unk>` (`word` only).
        max_length: longer documents keep their first `max_length` tokens (words, or pieces for `bpe`).
        batch_size / eval_batch_size: sentences per training / evaluation batch and device.
        seed: seed of the batch shuffling (None: the run's `seed_everything`).
        vocab_from: read the vocabulary and label names from this checkpoint instead.
        streaming: read each split as a `datasets` stream, never materialised (task_streaming.py); the
            source must ship its splits (no `carve_validation`).
        vocab_max_rows: with `streaming`, build the vocabulary (and string label names) from the first
            this many training rows, a bounded first pass (None: the whole training stream). Or give `vocab_from`.
    """

    def __init__(
        self,
        path: str = "stanfordnlp/sst2",
        name: str | None = None,
        text_column: str = "sentence",
        label_column: str = "label",
        label_names: list[str] | None = None,
        val_split: str = "validation",
        test_split: str = "test",
        predict_split: str = "test",
        carve_validation: int | None = None,
        carve_seed: int = 0,
        predict_file: str | None = None,
        lowercase: bool = True,
        tokenizer: Literal["word", "bpe"] = "word",
        subword_vocab_size: int = 8000,
        max_vocab: int | None = None,
        min_freq: int = 1,
        max_length: int = 400,
        batch_size: int = 256,
        eval_batch_size: int = 256,
        seed: int | None = None,
        vocab_from: str | None = None,
        streaming: bool = False,
        vocab_max_rows: int | None = 1_000_000,
    ):
        super().__init__(path=path, name=name, val_split=val_split, test_split=test_split, predict_split=predict_split,
                         predict_file=predict_file, batch_size=batch_size, eval_batch_size=eval_batch_size, seed=seed,
                         vocab_from=vocab_from)
        if tokenizer not in ("word", "bpe"):
            raise SeqlitError(f"data.tokenizer must be 'word' or 'bpe', got {tokenizer!r}")
        for arg in ("min_freq", "max_length", "subword_vocab_size"):
            positive(f"data.{arg}", locals()[arg])
        positive("data.max_vocab", max_vocab, allow_none=True)
        positive("data.carve_validation", carve_validation, allow_none=True)
        positive("data.vocab_max_rows", vocab_max_rows, allow_none=True)
        if streaming and carve_validation:
            raise SeqlitError("data.streaming reads each split once, front to back: it cannot carve data.carve_validation "
                              "sentences out of train; drop carve_validation or set --data.init_args.streaming false")
        if carve_validation and val_split != CARVED:
            raise SeqlitError(f"data.carve_validation carves the validation split {CARVED!r} from train, but data.val_split is "
                              f"{val_split!r}: set --data.init_args.val_split {CARVED}")
        if label_names is not None and (len(label_names) < 2 or len(set(label_names)) != len(label_names)):
            raise SeqlitError(f"data.label_names must be two or more distinct names, got {label_names}")
        self.save_hyperparameters(ignore=["vocab_from"])
        self.text_column, self.label_column = text_column, label_column
        self.label_names = list(label_names) if label_names else None
        self.lowercase, self.tokenizer, self.subword_vocab_size = lowercase, tokenizer, subword_vocab_size
        self.max_vocab, self.min_freq, self.max_length = max_vocab, min_freq, max_length
        self.carve_validation, self.carve_seed = carve_validation, carve_seed
        self.streaming, self.vocab_max_rows = streaming, vocab_max_rows
        self.vocab: Vocab | SubwordVocab | None = None
        self.truncated: dict[str, int] = {}

    # -- raw splits -------------------------------------------------------------
    def load(self) -> datasets.DatasetDict:
        return streamed_splits(self.path, self.name, ("train", self.val_split, self.test_split)) if self.streaming else super().load()

    def splits(self) -> datasets.DatasetDict:
        """The source's splits; with `carve_validation`, `carved` added and train without its phrases."""
        if self._splits is None:
            data = super().splits()  # cached: `rows("train")` below reads it as loaded
            if self.carve_validation:
                self._splits = self._carve_sentences(data)
        return self._splits

    def _carve_sentences(self, data: datasets.DatasetDict) -> datasets.DatasetDict:
        train = self.rows("train")
        tokens = [tokenize(t or "", self.lowercase) for t in train[self.text_column][:]]
        labels = [None if v is None or v == UNLABELLED else v for v in train[self.label_column][:]]
        try:
            carved, kept, candidates = carve(tokens, labels, self.carve_validation, self.carve_seed)
        except ValueError as err:
            raise SeqlitError(f"{self.path!r}: data.carve_validation={self.carve_validation}: {err} in the train split: "
                              "carve fewer") from err
        counts = Counter(labels[i] for i in carved)
        rank_zero_info(
            f"[seqlit] {self.path!r}: validation carved from train (split {CARVED!r}): {len(carved)} of its {candidates} "
            f"whole sentences (carve_seed {self.carve_seed}; by label {dict(sorted(counts.items()))}); "
            f"{len(train) - len(kept) - len(carved)} more training rows that are phrases of them left train, "
            f"which keeps {len(kept)} of {len(train)} rows"
        )
        return datasets.DatasetDict({**data, "train": train.select(kept), CARVED: train.select(carved)})

    def rows(self, split: str):
        """One split of `path` as a `datasets.Dataset`, its columns checked."""
        ds = self.split(split, text_column=self.text_column, label_column=self.label_column)
        if is_empty(ds) if self.streaming else len(ds) == 0:
            raise SeqlitError(f"{self.path!r}: the {split} split is empty")
        return ds

    # -- vocabulary -------------------------------------------------------------
    def build_vocab(self) -> None:
        train = self.rows("train")
        if self.streaming:  # bounded first passes: the first vocab_max_rows rows' labels, then their texts
            first = lambda col: (v for b in first_batches(train.select_columns([col]), self.vocab_max_rows) for v in b[col])  # noqa: E731
            self.label_names = self.label_names or label_names_of(train, self.label_column, self.path, first(self.label_column))
            texts = first(self.text_column)
        else:
            self.label_names = self.label_names or label_names_of(train, self.label_column, self.path)
            texts = (t for batch in batches(train, self.text_column) for t in batch[self.text_column].to_pylist())
        if len(self.label_names) < 2:
            raise SeqlitError(f"{self.path!r}: classification needs two or more labels, found {self.label_names}")
        tokens = (tokenize(t or "", self.lowercase)[: self.max_length] for t in texts)
        if self.tokenizer == "bpe":
            self.vocab = SubwordVocab.train(tokens, "bpe", vocab_size=self.subword_vocab_size, specials=(PAD, UNK))
        else:  # counted as they stream by, never a list of the split's words
            counts = Counter()
            for words in tokens:
                counts.update(words)
            self.vocab = Vocab.build([counts.elements()], specials=(PAD, UNK), max_size=self.max_vocab, min_freq=self.min_freq)
        rank_zero_info(f"[seqlit] {self.tokenizer} vocabulary: {len(self.vocab)} tokens from the training split; "
                       f"labels {self.label_names}")

    def vocab_state(self) -> dict:
        if self.tokenizer == "bpe":  # word checkpoints keep their old layout, so they still resume
            return {"tokenizer": "bpe", "subword": self.vocab.to_state(), "label_names": list(self.label_names),
                    "lowercase": self.lowercase}
        return {"tokens": self.vocab.to_state(), "label_names": list(self.label_names), "lowercase": self.lowercase}

    def load_vocab_state(self, state: dict) -> None:
        if self.hparams.label_names and list(self.hparams.label_names) != state["label_names"]:
            raise SeqlitError(f"data.label_names {self.hparams.label_names} differ from the checkpoint's {state['label_names']}")
        self.tokenizer = state.get("tokenizer", "word")
        self.vocab = SubwordVocab.from_state(state["subword"]) if self.tokenizer == "bpe" else Vocab.from_state(state["tokens"])
        self.label_names = list(state["label_names"])
        self.lowercase = state["lowercase"]

    def spec(self) -> dict:
        return {"vocab_size": len(self.vocab), "pad_id": self.vocab.pad_id, "unk_id": self.vocab.unk_id,
                "label_names": list(self.label_names), "tokenizer": self.tokenizer}

    # -- examples -----------------------------------------------------------------
    def encode(self, name: str, ds: datasets.Dataset, label_column: str | None, scored: bool) -> datasets.Dataset:
        """Rows of `ds` tokenized, truncated (counting the cuts) and mapped to ids in one cached `Dataset.map`."""
        feature = ds.features.get(label_column) if label_column else None
        vocab = self.vocab.to_state()["tokenizer"] if self.tokenizer == "bpe" else tuple(self.vocab.tokens)
        examples = (streamed_map if self.streaming and isinstance(ds, datasets.IterableDataset) else mapped)(ds, sentiment_encode.encode, text_column=self.text_column, label_column=label_column,
                          names=list(self.label_names), stored_names=list(feature.names) if hasattr(feature, "names") else None,
                          kind=self.tokenizer, vocab=vocab, lowercase=self.lowercase, max_length=self.max_length,
                          scored=scored, where=f"{self.path!r} split {name!r}", name=name)
        if isinstance(examples, datasets.IterableDataset):  # encoded as it is read: no truncation count up front
            return examples.remove_columns("cut")
        if not len(examples):  # every row unlabelled (`encode_split` says so): no columns to read
            self.truncated[name] = 0
            return examples
        cut = self.truncated[name] = int(column(examples, "cut").sum())
        if cut:
            rank_zero_info(f"[seqlit] {name}: {cut} of {len(examples)} texts were longer than "
                           f"data.max_length={self.max_length} tokens and were truncated")
        return examples.remove_columns("cut")

    def encode_split(self, name: str, stage: str) -> datasets.Dataset:
        """A split's examples, in Arrow: every row for `predict`; else the labelled rows only (and some must remain)."""
        ds = self.rows(name)
        scored = stage != "predict"
        examples = self.encode(name, ds, self.label_column, scored)
        if self.streaming:
            if scored and is_empty(examples):  # reads up to the first labelled row
                raise SeqlitError(f"{self.path!r}: the {name!r} split has no labels (all -1), so it cannot be scored: "
                                  "point data.init_args.val_split / test_split at a labelled split (SST-2: validation), "
                                  "or run `predict` on it")
            return examples
        if scored and not len(examples):
            raise SeqlitError(
                f"{self.path!r}: the {name!r} split has no labels (all -1), so it cannot be scored: "
                "point data.init_args.val_split / test_split at a labelled split (SST-2: validation), "
                "or run `predict` on it"
            )
        if scored and len(examples) < len(ds):
            rank_zero_info(f"[seqlit] {name}: {len(ds) - len(examples)} unlabelled rows left out of scoring")
        return examples

    def encode_lines(self, lines: list[tuple[int, str | dict]]) -> datasets.Dataset:
        """Texts of `predict_file` (JSON lines: `text_column` or `text`); `index` is the 0-based line number."""
        index, texts = self.line_texts(lines, self.text_column, "text")
        examples = self.encode(str(self.predict_file), datasets.Dataset.from_dict({self.text_column: texts}), None, False)
        return examples.map(lambda row, i: {"index": index[i]}, with_indices=True)  # in memory: never cached

    def check(self, command: str) -> None:
        super().check(command)
        if self.streaming:  # a stream's encoding is lazy: read its evaluation splits through now
            read_evaluation_splits(self, command)

    def loader(self, stage: str):
        if not self.streaming or stage == "predict" and self.predict_file:
            return super().loader(stage)
        train = stage == "train"
        return stream_loader(self.encoded(stage), self.collate, self.batch_size if train else self.eval_batch_size,
                             train, self.seed, *self.world())

    def lengths(self, examples: datasets.Dataset) -> np.ndarray:
        return column(examples, "length")

    def collate(self, batch: list[dict]) -> dict:
        return classification_batch([(e["ids"], e["label"], e["text"], e["index"], e.get("words")) for e in batch],
                                    self.vocab.pad_id)


def classification_batch(batch: list[tuple], pad_id: int) -> dict:
    """(ids, label, text, index[, words]) examples -> the classifier's batch, padded to its longest text;
    `tokens` (each text's words) when the examples have them."""
    ids, labels, texts, index, *words = zip(*batch)
    input_ids, lengths = pad(ids, pad_id)
    out = {"input_ids": input_ids, "lengths": lengths, "labels": torch.tensor(labels),
           "index": torch.tensor(index), "texts": list(texts)}
    if words and words[0][0] is not None:
        out["tokens"] = [list(w) for w in words[0]]
    return out


def label_names_of(train, column: str, path: str, values=None) -> list[str]:
    """Class names of a label column: its `ClassLabel` names, or the sorted string values of the training rows.

    A module function, not a method, so every data module that reads a label column (sentiment, the
    conditional LM's condition) reads it the same way. `values`: the column's values to read instead (a stream's first rows)."""
    feature = train.features[column]
    if hasattr(feature, "names"):
        return list(feature.names)
    values = {v for v in (train[column][:] if values is None else values) if v is not None and v != UNLABELLED}
    if all(isinstance(v, str) for v in values):
        return sorted(values)
    raise SeqlitError(
        f"{path!r}: column {column!r} holds numbers with no ClassLabel names: "
        "set data.init_args.label_names (names in id order)"
    )


def label_ids(ds, column: str, names: list[str], where: str) -> list[int]:
    """Each row's id in `names`, or UNLABELLED; values outside the label set raise, naming `where` and the row."""
    feature = ds.features[column]
    stored_names = list(feature.names) if hasattr(feature, "names") else None
    lookup = {n: i for i, n in enumerate(names)}
    return [label_id(value, lookup, stored_names, names, f"{where} row {row}") for row, value in enumerate(ds[column][:])]
