"""One input -> a sequence: texts, each with the condition it was written under (a label, a speaker, several fields).

Every example is one sequence, read from its start: the model sees `<bos>`
then the tokens, and predicts the tokens then `<eos>`, so perplexity is
that of whole sequences given their condition (the first `max_length`
tokens of each; cuts are counted and logged). Tokens are words (the
sentiment tokenizer, `data_modules.sentiment.tokenize`) or characters.

Two sources (`source`):

* `labels`: any labelled text corpus `SentimentData` reads (a hub id, a folder
  of split files, one file); its condition columns are the condition's fields:
  `condition_columns: [label, topic]`, or the one `label_column` (the default
  case, `label`). Each column's names are read by `data_modules.conditions`
  (ClassLabel names, or `<unk>` and the training values). A row with any
  field missing or unlabelled (None, -1: SST-2's test split) is left out.
  SST-2 ships two labelled splits only, so
  `val_fraction` carves validation out of the end of the training rows and
  `test_split` scores GLUE's validation split, which model selection never sees.
* `speakers`: Tiny Shakespeare as speaker turns. The file is cut at blank
  lines; a turn is its first line without the colon (the speaker,
  `GLOUCESTER`) and the lines after it (the speech); a speaker line with no
  speech after it (125 in the file) is no turn. The split is by blocks of
  `block_turns` consecutive turns (about a scene): of every 20 blocks, the
  19th goes to validation and the 20th to test, the rest to training. No turn
  is in two splits and val/test are whole stretches of dialogue, not turns
  interleaved with their training neighbours, while their speakers are mostly
  ones training has seen (24% of validation's turns and 29% of test's are
  `<unk>`, 17% of training's). A tail cut, like nanoGPT's last 10%, reaches
  plays whose casts training never meets: only 18% of the last 5%'s turns
  have a known speaker, so it would measure `<unk>` mostly. Speakers with
  fewer than `min_turns` training turns, and speakers training never saw,
  are `<unk>`.

Each field's names travel in the checkpoint with the token vocabulary
(`vocab_state`), so `generate --condition label=positive,topic=news` (or
`--condition NAME` for one field) needs the checkpoint alone. Batches carry
the conditions as (B, F) ids, F the number of fields.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Literal

import datasets
import torch
from pytorch_lightning.utilities import rank_zero_info
from torch.utils.data import Dataset

from data_modules.base import SeqDataModule, positive
from data_modules.bucketing import pad
from data_modules.conditions import Fields, column_names, condition_ids, upgrade_state
from data_modules.loading import read_text
from data_modules.sentiment import UNLABELLED, label_ids, tokenize
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


class Sequences(Dataset):
    """Encoded sequences of one split: ([<bos>] + tokens, the condition's id in each field, source text)."""

    def __init__(self, ids: list[list[int]], conditions: list[tuple[int, ...]], texts: list[str]):
        self.ids, self.conditions, self.texts = ids, conditions, texts

    def __len__(self) -> int:
        return len(self.ids)

    def __getitem__(self, i: int) -> tuple[list[int], tuple[int, ...], str]:
        return self.ids[i], self.conditions[i], self.texts[i]


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
        self._rows: dict[str, tuple[list[str], list[tuple]]] = {}

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

    def rows(self, stage: str) -> tuple[list[str], list[tuple]]:
        """(texts, each row's value per field, as stored or by name) of a stage (train, validation, test);
        rows with a field missing or unlabelled left out."""
        if stage not in self._rows:
            if self.source == "speakers":
                ds = self.split(stage)
                self._rows[stage] = (ds["text"][:], [(s,) for s in ds["speaker"][:]])
            else:
                self._rows[stage] = self._labelled(stage)
        return self._rows[stage]

    def _labelled(self, stage: str) -> tuple[list[str], list[tuple]]:
        carved = self.val_fraction is not None and stage in ("train", "validation")
        name = "train" if carved else {"train": "train", "validation": self.val_split, "test": self.test_split}[stage]
        ds = self.split(name, text_column=self.text_column)
        for column in self.columns:
            self.column(name, column)
        if carved:
            cut = len(ds) - max(1, int(len(ds) * self.val_fraction))
            ds = ds.select(range(cut) if stage == "train" else range(cut, len(ds)))
        values = list(zip(*(self._values(ds, column, f"{self.path!r} split {name!r} column {column!r}")
                            for column in self.columns)))
        texts = ds[self.text_column][:]
        keep = [i for i, row in enumerate(values) if None not in row]
        if not keep:
            raise SeqlitError(f"{self.path!r}: the {name!r} split has no labels (all -1), so it cannot be scored: "
                              "point data.init_args.test_split at a labelled split (SST-2: validation)")
        return [texts[i] or "" for i in keep], [values[i] for i in keep]

    def _values(self, ds: datasets.Dataset, column: str, where: str) -> list[str | None]:
        """Each row's value of `column` by name (None: missing or unlabelled). Ids of a ClassLabel or numbered column
        map through its names, a value outside them one line naming `where` and the row; strings stay as they are."""
        names = self.condition_fields[column]
        if UNK not in names or hasattr(ds.features[column], "names"):
            return [None if i == UNLABELLED else names[i] for i in label_ids(ds, column, names, where)]
        return [None if v is None or v == UNLABELLED else str(v) for v in ds[column][:]]

    # -- tokens ------------------------------------------------------------------
    # what every sequence starts with (a prompt follows it: `seqlit.callbacks.samples.encode_prompt`) and ends with
    start_token, stop_token = BOS, EOS

    def tokenize(self, text: str) -> list[str]:
        """A text's tokens, then `<eos>`."""
        return (tokenize(text, self.lowercase) if self.level == "word" else list(text)) + [EOS]

    def detokenize(self, tokens: list[str]) -> str:
        words = [t for t in tokens if t not in (BOS, EOS)]
        return "".join(words) if self.level == "char" else " ".join(words)

    # -- vocabularies ---------------------------------------------------------------
    def build_vocab(self) -> None:
        if self.source == "speakers":
            texts, conditions = self.rows("train")
            counts = Counter(s for s, in conditions)
            self.condition_fields = {"speaker": [UNK] + sorted((s for s, c in counts.items() if c >= self.min_turns),
                                                               key=lambda s: (-counts[s], s))}
        else:
            self.condition_fields = {c: column_names(self.column("train", c), c, self.path, self.label_names_arg)
                                     for c in self.columns}
            texts, _ = self.rows("train")
        self.vocab = Vocab.build((self.tokenize(t) for t in texts), specials=(PAD, UNK, BOS, EOS),
                                 max_size=self.max_vocab, min_freq=self.min_freq)
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
    def encode_split(self, name: str, stage: str) -> Sequences:
        texts, conditions = self.rows(stage)
        lookups = [{n: i for i, n in enumerate(names)} for names in self.condition_fields.values()]
        ids, cut = [], 0
        for text in texts:
            tokens = [BOS] + self.tokenize(text)
            cut += len(tokens) - 1 > self.max_length
            ids.append(self.vocab.encode(tokens[: self.max_length + 1]))
        # a value training never saw is its field's <unk> (a ClassLabel field has none: its values are all known)
        cond = [tuple(lookup.get(v, lookup.get(UNK)) for v, lookup in zip(row, lookups)) for row in conditions]
        if cut:
            rank_zero_info(f"[seqlit] {stage}: {cut} of {len(ids)} sequences were longer than "
                           f"data.max_length={self.max_length} tokens: their first {self.max_length} are read")
        for f, (field, lookup) in enumerate(zip(self.condition_fields, lookups)):
            if UNK in lookup:
                unk = sum(row[f] == lookup[UNK] for row in cond)
                rank_zero_info(f"[seqlit] {stage}: {unk} of {len(cond)} sequences have an {UNK} {field}")
        return Sequences(ids, cond, list(texts))

    def lengths(self, examples: Sequences) -> list[int]:
        return [len(x) - 1 for x in examples.ids]

    def collate(self, batch: list[tuple]) -> dict:
        """input_ids = [<bos>] + tokens, targets = tokens + [<eos>] (IGNORE where padded), conditions (B, F)."""
        ids, conditions, texts = zip(*batch)
        input_ids, lengths = pad([x[:-1] for x in ids], self.vocab.pad_id)
        targets, _ = pad([x[1:] for x in ids], IGNORE)
        return {"input_ids": input_ids, "targets": targets, "lengths": lengths,
                "conditions": torch.tensor(conditions), "texts": list(texts)}
