"""One input -> a sequence: texts, each with the condition it was written under (a label, a speaker, several fields).

Every example is one sequence read from `<bos>`, so perplexity is that of whole sequences given their condition.
`source: labels` reads any labelled corpus `SentimentData` reads, its condition columns the fields (rows with a
field missing or unlabelled are left out); `source: speakers` reads Tiny Shakespeare as speaker turns, split by
blocks of `block_turns` turns so val/test are whole stretches of dialogue. Each field's names travel in the
checkpoint, so `generate --condition` needs the checkpoint alone. Why the splits: docs/results/conditional.md.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Literal

import datasets
import numpy as np
import pyarrow.compute as pc
import torch
from pytorch_lightning.utilities import rank_zero_info

from data_modules import conditional_encode
from data_modules.arrow import MAP_BATCH, batches, column
from data_modules.base import SeqDataModule, positive
from data_modules.bucketing import pad
from data_modules.conditions import Fields, column_names, condition_ids, upgrade_state
from data_modules.loading import read_text
from seqlit.errors import SeqlitError
from seqlit.vocab import BOS, EOS, PAD, UNK, Vocab

IGNORE = -100  # target id at padded positions (cross-entropy's ignore_index)
TEST_EVERY = 20  # of every TEST_EVERY blocks of turns, one goes to validation and one to test


def speaker_turns(text: str) -> list[tuple[str, str]]:
    """(speaker, speech) for each blank-line-separated block whose first line ends with ':'."""
    turns = []
    for block in text.split("\n\n"):
        lines = block.strip("\n").split("\n")
        if len(lines) >= 2 and lines[0].endswith(":") and lines[0][:-1].strip():
            turns.append((lines[0][:-1].strip(), "\n".join(lines[1:])))
    return turns


def block_split(n: int, block: int) -> dict[str, list[int]]:
    """Indices of `n` turns by split: blocks of `block` turns, the last two of every TEST_EVERY blocks held out."""
    out: dict[str, list[int]] = {"train": [], "validation": [], "test": []}
    for i in range(n):
        k = (i // block) % TEST_EVERY
        out["validation" if k == TEST_EVERY - 2 else "test" if k == TEST_EVERY - 1 else "train"].append(i)
    return out


class ConditionalData(SeqDataModule):
    """Sequences with a condition: a labelled corpus's label (or several columns), or Tiny Shakespeare's speaker.

    Args:
        path: `labels`: a hub id or local folder/file (`../shared/data/sst2`); `speakers`: the text file
            (`../shared/data/tiny_shakespeare/input.txt`).
        source: `labels` (condition columns are the condition) or `speakers` (speaker turns: one field, `speaker`).
        level: `word` (the sentiment tokenizer) or `char` (every character, newlines included).
        condition_columns: the condition's fields, one column each (`labels` only); None: `[label_column]`.
        text_column / label_column / name: as `SentimentData` reads them (`labels` only).
        label_names: names of the ids of a one-column condition stored as numbers without `ClassLabel` names.
        val_split / test_split: the splits scored by validation and test (`labels` only).
        val_fraction: carve validation from the last fraction of the training rows (`labels` with two
            labelled splits only, SST-2: then val_split is not read).
        min_turns: speakers with fewer training turns become `<unk>` (`speakers` only).
        block_turns: turns per block of the speaker split (`speakers` only; see above).
        lowercase: lower-case words (word level).
        max_vocab / min_freq: token vocabulary cap (specials included) and minimum training count.
        max_length: tokens read per sequence; longer ones keep their first `max_length`.
        batch_size / eval_batch_size: sequences per training / evaluation batch and device.
        seed: batch shuffling (None: the run's `seed_everything`).
        vocab_from: read the vocabulary and condition names from this checkpoint instead.
    """

    predict_hint = ("a conditional language model writes instead: python -m seqlit generate --ckpt_path CKPT "
                    "--condition NAME (or FIELD=NAME,FIELD=NAME)")

    def __init__(
        self,
        path: str = "../shared/data/sst2",
        source: Literal["labels", "speakers"] = "labels",
        level: Literal["word", "char"] = "word",
        name: str | None = None,
        text_column: str = "sentence",
        label_column: str = "label",
        condition_columns: list[str] | None = None,
        label_names: list[str] | None = None,
        val_split: str = "validation",
        test_split: str = "test",
        val_fraction: float | None = None,
        min_turns: int = 20,
        block_turns: int = 50,
        lowercase: bool = True,
        max_vocab: int | None = None,
        min_freq: int = 1,
        max_length: int = 64,
        batch_size: int = 64,
        eval_batch_size: int = 128,
        seed: int | None = None,
        vocab_from: str | None = None,
    ):
        super().__init__(path=path, name=name, val_split=val_split, test_split=test_split, batch_size=batch_size,
                         eval_batch_size=eval_batch_size, seed=seed, vocab_from=vocab_from)
        for arg in ("min_turns", "block_turns", "min_freq", "max_length"):
            positive(f"data.{arg}", locals()[arg])
        positive("data.max_vocab", max_vocab, allow_none=True)
        if val_fraction is not None and not 0 < val_fraction < 1:
            raise SeqlitError(f"data.val_fraction must lie strictly between 0 and 1, got {val_fraction}")
        if condition_columns is not None and (not condition_columns or len(set(condition_columns)) != len(condition_columns)):
            raise SeqlitError(f"data.condition_columns must name one or more distinct columns, got {condition_columns}")
        if source == "speakers" and condition_columns is not None:
            raise SeqlitError("data.condition_columns reads columns of source 'labels'; source 'speakers' has one field, "
                              "the speaker: drop data.init_args.condition_columns")
        if label_names is not None and condition_columns is not None and len(condition_columns) > 1:
            raise SeqlitError("data.label_names names the ids of one condition column, but data.condition_columns has "
                              f"{len(condition_columns)}: store the names in the data (ClassLabel or strings) and drop label_names")
        self.save_hyperparameters(ignore=["vocab_from"])
        self.source, self.level, self.text_column, self.label_column = source, level, text_column, label_column
        self.columns = list(condition_columns) if condition_columns is not None else [label_column]
        self.label_names_arg, self.val_fraction, self.min_turns, self.block_turns = label_names, val_fraction, min_turns, block_turns
        self.lowercase, self.max_vocab, self.min_freq, self.max_length = lowercase, max_vocab, min_freq, max_length
        self.vocab: Vocab | None = None
        self.condition_fields: Fields | None = None
        self._rows: dict[str, datasets.Dataset] = {}

    # -- raw rows: (texts, raw conditions) per stage split -------------------------
    def load(self) -> datasets.DatasetDict:
        if self.source == "labels":
            return super().load()
        file = Path(self.path).expanduser()
        if not file.is_file():
            raise SeqlitError(f"data.path {self.path!r} is not a file: source 'speakers' reads one text file "
                              "of speaker turns (../shared/data/tiny_shakespeare/input.txt)")
        turns = speaker_turns(read_text(file, f"data.path {self.path!r}"))
        if len(turns) < TEST_EVERY * self.block_turns:
            raise SeqlitError(f"{self.path!r} holds {len(turns)} speaker turns ('NAME:' then the speech, blank lines "
                              f"between), too few for {TEST_EVERY} blocks of data.block_turns={self.block_turns}: lower it")
        return datasets.DatasetDict({
            split: datasets.Dataset.from_dict({"text": [turns[i][1] for i in index], "speaker": [turns[i][0] for i in index]})
            for split, index in block_split(len(turns), self.block_turns).items()})

    @property
    def field_names(self) -> list[str]:
        """The condition's fields, in the order the model reads them: the condition columns, or `speaker`."""
        return ["speaker"] if self.source == "speakers" else self.columns

    def column(self, split: str, column: str) -> datasets.Dataset:
        """Source split `split`, checked to hold condition column `column` (named by the argument that set it)."""
        arg = "condition_columns" if self.hparams.get("condition_columns") is not None else "label_column"
        return self.split(split, **{arg: column})

    def rows(self, stage: str) -> datasets.Dataset:
        """A stage's (train, validation, test) rows as `text` and `conditions` (one id per field) in Arrow;
        rows with a field missing or unlabelled left out. Needs `condition_fields`."""
        if stage not in self._rows:
            carved = self.source == "labels" and self.val_fraction is not None and stage in ("train", "validation")
            name = stage if self.source == "speakers" else "train" if carved else \
                {"train": "train", "validation": self.val_split, "test": self.test_split}[stage]
            ds = self.split(name, text_column=self.text_column) if self.source == "labels" else self.split(name)
            for c in self.columns if self.source == "labels" else ():
                self.column(name, c)
            if carved:
                cut = len(ds) - max(1, int(len(ds) * self.val_fraction))
                ds = ds.select(range(cut) if stage == "train" else range(cut, len(ds)))
            fields = tuple((c, tuple(names), self._stored(ds, c), self._by_id(ds, c, names))
                           for c, names in self.condition_fields.items())
            rows = ds.map(conditional_encode.conditions, batched=True, batch_size=MAP_BATCH, with_indices=True,
                          remove_columns=ds.column_names, desc="[seqlit] conditions",
                          fn_kwargs={"text_column": "text" if self.source == "speakers" else self.text_column,
                                     "fields": fields, "where": f"{self.path!r} split {name!r}"})
            if not len(rows):
                raise SeqlitError(f"{self.path!r}: the {name!r} split has no labels (all -1), so it cannot be scored: "
                                  "point data.init_args.test_split at a labelled split (SST-2: validation)")
            self._rows[stage] = rows
        return self._rows[stage]

    @staticmethod
    def _stored(ds: datasets.Dataset, column: str) -> tuple[str, ...] | None:
        """The ClassLabel names a column's ids are stored under (None: plain values)."""
        feature = ds.features[column]
        return tuple(feature.names) if hasattr(feature, "names") else None

    @staticmethod
    def _by_id(ds: datasets.Dataset, column: str, names: list[str]) -> bool:
        """Whether a column's values must each be a known name or id (ClassLabel, numbers, names with no `<unk>`);
        else they are strings, a name training never saw being `<unk>`."""
        return UNK not in names or hasattr(ds.features[column], "names")

    # -- tokens ------------------------------------------------------------------
    # what every sequence starts with (a prompt follows it: `seqlit.callbacks.samples.encode_prompt`) and ends with
    start_token, stop_token = BOS, EOS

    def tokenize(self, text: str) -> list[str]:
        """A text's tokens, then `<eos>`."""
        return conditional_encode.tokens(text, self.level, self.lowercase)

    def detokenize(self, tokens: list[str]) -> str:
        words = [t for t in tokens if t not in (BOS, EOS)]
        return "".join(words) if self.level == "char" else " ".join(words)

    # -- vocabularies ---------------------------------------------------------------
    def build_vocab(self) -> None:
        if self.source == "speakers":
            counts = Counter()
            for batch in batches(self.split("train"), "speaker"):
                counts.update(batch["speaker"].to_pylist())
            self.condition_fields = {"speaker": [UNK] + sorted((s for s, c in counts.items() if c >= self.min_turns),
                                                               key=lambda s: (-counts[s], s))}
        else:
            self.condition_fields = {c: column_names(self.column("train", c), c, self.path, self.label_names_arg)
                                     for c in self.columns}
        tokens = Counter()  # counted batch by batch, never a list of the split's tokens
        for batch in batches(self.rows("train"), "text"):
            for text in batch["text"].to_pylist():
                tokens.update(self.tokenize(text))
        self.vocab = Vocab.from_counts(tokens, specials=(PAD, UNK, BOS, EOS), max_size=self.max_vocab, min_freq=self.min_freq)
        fields = "; ".join(f"{f}: {len(n)} ({', '.join(n[:8])}{' …' if len(n) > 8 else ''})"
                           for f, n in self.condition_fields.items())
        rank_zero_info(f"[seqlit] {self.level} vocabulary: {len(self.vocab)} tokens; conditions {fields}")

    def vocab_state(self) -> dict:
        return {"level": self.level, "tokens": self.vocab.to_state(), "lowercase": self.lowercase,
                "condition_fields": {f: list(n) for f, n in self.condition_fields.items()}}

    def load_vocab_state(self, state: dict) -> None:
        state = upgrade_state(state, self.field_names[0])
        self.level, self.lowercase = state["level"], state["lowercase"]
        self.vocab = Vocab.from_state(state["tokens"])
        self.condition_fields = {f: list(n) for f, n in state["condition_fields"].items()}
        if list(self.condition_fields) != self.field_names:
            raise SeqlitError(f"the checkpoint's condition fields are {', '.join(self.condition_fields)}, but the data's are "
                              f"{', '.join(self.field_names)}: set data.init_args.condition_columns to the checkpoint's")

    def load_state_dict(self, state_dict: dict) -> None:
        """A checkpoint of the one-field layout resumes and tests on the same data too: compare it upgraded."""
        super().load_state_dict({**state_dict, "vocab": upgrade_state(state_dict["vocab"], self.field_names[0])})

    def spec(self) -> dict:
        return {"vocab_size": len(self.vocab), "pad_id": self.vocab.pad_id, "level": self.level,
                "condition_fields": {f: list(n) for f, n in self.condition_fields.items()}}

    def condition_ids(self, text: str | None) -> list[int]:
        """The id in each field of the condition `text` names (`data_modules.conditions`: the forms, the errors)."""
        return condition_ids(text, self.condition_fields)

    # -- examples -----------------------------------------------------------------
    def encode_split(self, name: str, stage: str) -> datasets.Dataset:
        rows = self.rows(stage)
        examples = rows.map(conditional_encode.encode, batched=True, batch_size=MAP_BATCH, desc="[seqlit] encode",
                            fn_kwargs={"level": self.level, "lowercase": self.lowercase,
                                       "vocab": tuple(self.vocab.tokens), "max_length": self.max_length})
        cut = int(column(examples, "cut").sum())
        if cut:
            rank_zero_info(f"[seqlit] {stage}: {cut} of {len(examples)} sequences were longer than "
                           f"data.max_length={self.max_length} tokens: their first {self.max_length} are read")
        ids = pc.list_flatten(examples.select_columns(["conditions"]).with_format("arrow")[:]["conditions"])
        ids = ids.to_numpy().reshape(len(examples), -1)
        for f, (field, names) in enumerate(self.condition_fields.items()):
            if UNK in names:  # a value training never saw is its field's <unk> (a ClassLabel field has none)
                rank_zero_info(f"[seqlit] {stage}: {int((ids[:, f] == names.index(UNK)).sum())} of {len(examples)} "
                               f"sequences have an {UNK} {field}")
        return examples.remove_columns("cut")

    def lengths(self, examples: datasets.Dataset) -> np.ndarray:
        return column(examples, "length")

    def collate(self, batch: list[dict]) -> dict:
        """input_ids = [<bos>] + tokens, targets = tokens + [<eos>] (IGNORE where padded), conditions (B, F)."""
        ids, conditions, texts = ([e[k] for e in batch] for k in ("ids", "conditions", "text"))
        input_ids, lengths = pad([x[:-1] for x in ids], self.vocab.pad_id)
        targets, _ = pad([x[1:] for x in ids], IGNORE)
        return {"input_ids": input_ids, "targets": targets, "lengths": lengths,
                "conditions": torch.tensor(conditions), "texts": list(texts)}
