"""Many-to-one data: one text in, one label out (SST-2, IMDB, any text/label table).

Text becomes words with a small regex tokenizer that also splits clitics the
Penn Treebank way ("don't" -> "do n't", "it's" -> "it 's"), so raw text typed
at `predict` meets the same tokens as SST-2's pre-tokenized sentences. The
word vocabulary comes from the training split only. With `tokenizer: bpe` the
words are cut further into subword pieces by a byte-pair encoding trained on
the training split's words only (HF `tokenizers`, `data_modules/subword.py`),
so words never seen in training are spelt with known pieces instead of
becoming `<unk>`; the trained tokenizer travels in the checkpoint as its JSON
string. `max_length` then counts pieces, what the model reads.

Labels: names come from the label column's `ClassLabel` feature, or from
`label_names`, or (for string labels) from the sorted training values.
A label of -1 (or missing) means "unlabelled", as in SST-2's test split: such
rows are left out of training and scoring, but `predict` still reads them.
Any other value outside the label set is an error.

Documents longer than `max_length` tokens are cut to their first `max_length`
tokens, and each split logs how many were cut, so IMDB-length reviews fit in
memory and nobody is surprised.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import Literal

import torch
from pytorch_lightning.utilities import rank_zero_info
from torch.utils.data import DataLoader, Dataset

from data_modules.base import SeqDataModule, positive
from data_modules.bucketing import BucketBatchSampler, pad
from data_modules.loading import load_splits
from data_modules.resumable import ResumableLoader
from data_modules.subword import SubwordVocab
from seqlit.errors import SeqlitError
from seqlit.vocab import PAD, UNK, Vocab

TOKEN = re.compile(r"\w+(?=n't\b)|n't\b|'\w+|\w+(?:-\w+)*|[^\w\s]")
UNLABELLED = -1


def tokenize(text: str, lowercase: bool = True) -> list[str]:
    return TOKEN.findall(text.lower() if lowercase else text)


class Examples(Dataset):
    """Encoded examples of one split; `index` is each row's position in its source."""

    def __init__(self, ids: list[list[int]], labels: list[int], texts: list[str], index: list[int]):
        self.ids, self.labels, self.texts, self.index = ids, labels, texts, index

    def __len__(self) -> int:
        return len(self.ids)

    def __getitem__(self, i: int) -> tuple[list[int], int, str, int]:
        return self.ids[i], self.labels[i], self.texts[i], self.index[i]


class SentimentData(SeqDataModule):
    """Text classification from a hub dataset, a folder of split files, or a single file.

    Args:
        path: hub id (`stanfordnlp/sst2`, `imdb`) or a local folder/file (`../shared/data/sst2`).
        name: hub configuration name, if the hub dataset has several.
        text_column / label_column: columns holding the text and the label.
        label_names: class names in id order; default: the `ClassLabel` names of the label column.
        val_split: split used for validation (IMDB on the hub has none: use `test`).
        test_split: split scored by `test` (SST-2's test is unlabelled: its configs use `validation`).
        predict_split: split read by `predict` when no `predict_file` is given.
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
    ):
        super().__init__(vocab_from=vocab_from)
        if tokenizer not in ("word", "bpe"):
            raise SeqlitError(f"data.tokenizer must be 'word' or 'bpe', got {tokenizer!r}")
        for arg in ("batch_size", "eval_batch_size", "min_freq", "max_length", "subword_vocab_size"):
            positive(f"data.{arg}", locals()[arg])
        positive("data.max_vocab", max_vocab, allow_none=True)
        if label_names is not None and (len(label_names) < 2 or len(set(label_names)) != len(label_names)):
            raise SeqlitError(f"data.label_names must be two or more distinct names, got {label_names}")
        self.save_hyperparameters(ignore=["vocab_from"])
        self.path, self.name = path, name
        self.text_column, self.label_column = text_column, label_column
        self.label_names = list(label_names) if label_names else None
        self.val_split, self.test_split, self.predict_split = val_split, test_split, predict_split
        self.predict_file, self.lowercase = predict_file, lowercase
        self.tokenizer, self.subword_vocab_size = tokenizer, subword_vocab_size
        self.max_vocab, self.min_freq, self.max_length = max_vocab, min_freq, max_length
        self.batch_size, self.eval_batch_size, self.seed = batch_size, eval_batch_size, seed
        self.vocab: Vocab | SubwordVocab | None = None
        self.truncated: dict[str, int] = {}
        self._data = None
        self._examples: dict[str, Examples] = {}

    # -- raw splits -------------------------------------------------------------
    def split(self, split: str):
        """One split of `path` as a `datasets.Dataset`, its columns checked."""
        if self._data is None:
            self._data = load_splits(self.path, self.name)
        if split not in self._data:
            raise SeqlitError(
                f"{self.path!r} has no {split!r} split (found: {', '.join(self._data)}): "
                "set data.init_args.val_split / test_split / predict_split"
            )
        ds = self._data[split]
        for column in (self.text_column, self.label_column):
            if column not in ds.column_names:
                raise SeqlitError(
                    f"{self.path!r} split {split!r} has no column {column!r} (columns: {', '.join(ds.column_names)}): "
                    "set data.init_args.text_column / label_column"
                )
        if len(ds) == 0:
            raise SeqlitError(f"{self.path!r}: the {split} split is empty")
        return ds

    def _names_from_data(self) -> list[str]:
        train = self.split("train")
        feature = train.features[self.label_column]
        if hasattr(feature, "names"):
            return list(feature.names)
        values = {v for v in train[self.label_column][:] if v is not None and v != UNLABELLED}
        if all(isinstance(v, str) for v in values):
            return sorted(values)
        raise SeqlitError(
            f"{self.path!r}: column {self.label_column!r} holds numbers with no ClassLabel names: "
            "set data.init_args.label_names (names in id order)"
        )

    def _label_ids(self, split: str, ds) -> list[int]:
        """Each row's label id, or UNLABELLED; values outside the label set raise."""
        feature = ds.features[self.label_column]
        stored_names = list(feature.names) if hasattr(feature, "names") else None
        lookup = {n: i for i, n in enumerate(self.label_names)}
        ids = []
        for row, value in enumerate(ds[self.label_column][:]):
            if value is None or value == UNLABELLED:
                ids.append(UNLABELLED)
                continue
            if isinstance(value, int) and stored_names is not None and 0 <= value < len(stored_names):
                value = stored_names[value]  # map by name: the checkpoint's order may differ from the file's
            if isinstance(value, str) and value in lookup:
                ids.append(lookup[value])
            elif isinstance(value, int) and not isinstance(value, bool) and stored_names is None and 0 <= value < len(lookup):
                ids.append(value)
            else:
                raise SeqlitError(
                    f"{self.path!r} split {split!r} row {row}: label {value!r} is not one of "
                    f"{self.label_names} (-1 marks an unlabelled row)"
                )
        return ids

    # -- vocabulary -------------------------------------------------------------
    def build_vocab(self) -> None:
        self.label_names = self.label_names or self._names_from_data()
        if len(self.label_names) < 2:
            raise SeqlitError(f"{self.path!r}: classification needs two or more labels, found {self.label_names}")
        texts = self.split("train")[self.text_column][:]
        tokens = (tokenize(t or "", self.lowercase)[: self.max_length] for t in texts)
        if self.tokenizer == "bpe":
            self.vocab = SubwordVocab.train(tokens, "bpe", vocab_size=self.subword_vocab_size, specials=(PAD, UNK))
        else:
            self.vocab = Vocab.build(tokens, specials=(PAD, UNK), max_size=self.max_vocab, min_freq=self.min_freq)
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
                "label_names": list(self.label_names)}

    # -- examples -----------------------------------------------------------------
    def encode(self, name: str, texts: list[str], labels: list[int], index: list[int]) -> Examples:
        """Tokenize, truncate (counting the cuts) and map to ids; empty texts raise."""
        ids, cut = [], 0
        for i, text in zip(index, texts):
            tokens = tokenize(text or "", self.lowercase)
            if not tokens:
                raise SeqlitError(f"{name}: text {i} (counting from 0) has no words: remove it or give it some text")
            encoded = self.vocab.encode(tokens)  # one id per word, or per piece for bpe
            cut += len(encoded) > self.max_length
            ids.append(encoded[: self.max_length])
        self.truncated[name] = cut
        if cut:
            rank_zero_info(f"[seqlit] {name}: {cut} of {len(ids)} texts were longer than "
                           f"data.max_length={self.max_length} tokens and were truncated")
        return Examples(ids, labels, [t or "" for t in texts], index)

    def examples(self, split: str, scored: bool = True) -> Examples:
        """A split's examples; `scored` drops unlabelled rows (and insists some remain)."""
        key = f"{split}/{'scored' if scored else 'all'}"
        if key not in self._examples:
            self.ensure_vocab()
            ds = self.split(split)
            labels = self._label_ids(split, ds)
            rows = [i for i, y in enumerate(labels) if y != UNLABELLED] if scored else list(range(len(ds)))
            if scored and not rows:
                raise SeqlitError(
                    f"{self.path!r}: the {split!r} split has no labels (all -1), so it cannot be scored: "
                    "point data.init_args.val_split / test_split at a labelled split (SST-2: validation), "
                    "or run `predict` on it"
                )
            if scored and len(rows) < len(ds):
                rank_zero_info(f"[seqlit] {split}: {len(ds) - len(rows)} unlabelled rows left out of scoring")
            texts = ds[self.text_column][:]  # a list; row-by-row reads of a Column are slow
            self._examples[key] = self.encode(split, [texts[i] for i in rows], [labels[i] for i in rows], rows)
        return self._examples[key]

    def read_predict_file(self) -> Examples:
        """Texts of `predict_file`; blank lines are skipped, and `index` is the 0-based line number."""
        path = Path(os.path.expanduser(self.predict_file))
        if not path.is_file():
            raise SeqlitError(f"data.predict_file {self.predict_file!r} does not exist")
        texts, index = [], []
        try:
            lines = path.read_text(encoding="utf-8").splitlines()
        except UnicodeDecodeError as err:
            raise SeqlitError(f"data.predict_file {self.predict_file!r} is not UTF-8 text ({err.reason} at byte "
                              f"{err.start}): re-encode it as UTF-8") from err
        for n, line in enumerate(lines):
            if not line.strip():
                continue
            if path.suffix == ".jsonl":
                try:
                    record = json.loads(line)
                except ValueError:
                    record = None
                line = record.get(self.text_column, record.get("text")) if isinstance(record, dict) else None
                if not isinstance(line, str):
                    raise SeqlitError(f"{self.predict_file}: line {n + 1} is not a JSON object with a "
                                      f"{self.text_column!r} or 'text' string")
            texts.append(line)
            index.append(n)
        if not texts:
            raise SeqlitError(f"data.predict_file {self.predict_file!r} holds no text")
        self.ensure_vocab()
        return self.encode(str(self.predict_file), texts, [UNLABELLED] * len(texts), index)

    # -- loaders ------------------------------------------------------------------
    def read(self, split: str) -> None:
        if split == "predict":
            self.read_predict_file() if self.predict_file else self.examples(self.predict_split, scored=False)
        else:
            self.examples({"validation": self.val_split, "test": self.test_split}.get(split, split))

    def setup(self, stage: str | None = None) -> None:
        self.ensure_vocab()

    def collate(self, batch: list[tuple]) -> dict:
        ids, labels, texts, index = zip(*batch)
        input_ids, lengths = pad(ids, self.vocab.pad_id)
        return {"input_ids": input_ids, "lengths": lengths, "labels": torch.tensor(labels),
                "index": torch.tensor(index), "texts": list(texts)}

    def _loader(self, examples: Examples, batch_size: int, shuffle: bool) -> DataLoader:
        trainer = self.trainer
        rank, world = (trainer.global_rank, trainer.world_size) if trainer is not None else (0, 1)
        seed = self.seed if self.seed is not None else int(os.environ.get("PL_GLOBAL_SEED", 0))
        sampler = BucketBatchSampler([len(x) for x in examples.ids], batch_size, shuffle=shuffle, seed=seed,
                                     num_replicas=world, rank=rank)
        return ResumableLoader(examples, batch_sampler=sampler, collate_fn=self.collate)

    def train_dataloader(self) -> DataLoader:
        return self._loader(self.examples("train"), self.batch_size, shuffle=True)

    def val_dataloader(self) -> DataLoader:
        return self._loader(self.examples(self.val_split), self.eval_batch_size, shuffle=False)

    def test_dataloader(self) -> DataLoader:
        return self._loader(self.examples(self.test_split), self.eval_batch_size, shuffle=False)

    def predict_dataloader(self) -> DataLoader:
        examples = self.read_predict_file() if self.predict_file else self.examples(self.predict_split, scored=False)
        return self._loader(examples, self.eval_batch_size, shuffle=False)
