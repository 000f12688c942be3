"""One input -> a sequence: texts, each with the condition it was written under (a label, a speaker).

Every example is one sequence, read from its start: the model sees `<bos>`
then the tokens, and predicts the tokens then `<eos>`, so perplexity is
that of whole sequences given their condition (the first `max_length`
tokens of each; cuts are counted and logged). Tokens are words (the
sentiment tokenizer, `data_modules.sentiment.tokenize`) or characters.

Two sources (`source`):

* `labels`: any labelled text corpus `SentimentData` reads (a hub id, a folder
  of split files, one file); the label column is the condition, its names read
  by the same functions (`label_names_of`, `label_ids`). Unlabelled rows (-1,
  SST-2's test split) are left out. SST-2 ships two labelled splits only, so
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

The condition names travel in the checkpoint with the token vocabulary
(`vocab_state`), so `generate --condition NAME` needs the checkpoint alone.
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
from data_modules.loading import read_text
from data_modules.sentiment import UNLABELLED, label_ids, label_names_of, tokenize
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
    """Encoded sequences of one split: ([<bos>] + tokens, condition id, source text)."""

    def __init__(self, ids: list[list[int]], conditions: list[int], texts: list[str]):
        self.ids, self.conditions, self.texts = ids, conditions, texts

    def __len__(self) -> int:
        return len(self.ids)

    def __getitem__(self, i: int) -> tuple[list[int], int, str]:
        return self.ids[i], self.conditions[i], self.texts[i]


class ConditionalData(SeqDataModule):
    """Sequences with a condition: a labelled corpus's label, or Tiny Shakespeare's speaker.

    Args:
        path: `labels`: a hub id or local folder/file (`../shared/data/sst2`); `speakers`: the text file
            (`../shared/data/tiny_shakespeare/input.txt`).
        source: `labels` (the label column is the condition) or `speakers` (speaker turns).
        level: `word` (the sentiment tokenizer) or `char` (every character, newlines included).
        text_column / label_column / label_names / name: as `SentimentData` reads them (`labels` only).
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

    predict_hint = "a conditional language model writes instead: python -m seqlit generate --ckpt_path CKPT --condition NAME"

    def __init__(
        self,
        path: str = "../shared/data/sst2",
        source: Literal["labels", "speakers"] = "labels",
        level: Literal["word", "char"] = "word",
        name: str | None = None,
        text_column: str = "sentence",
        label_column: str = "label",
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
        self.save_hyperparameters(ignore=["vocab_from"])
        self.source, self.level, self.text_column, self.label_column = source, level, text_column, label_column
        self.label_names_arg, self.val_fraction, self.min_turns, self.block_turns = label_names, val_fraction, min_turns, block_turns
        self.lowercase, self.max_vocab, self.min_freq, self.max_length = lowercase, max_vocab, min_freq, max_length
        self.vocab: Vocab | None = None
        self.condition_names: list[str] | None = None
        self._rows: dict[str, tuple[list[str], list]] = {}

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

    def rows(self, stage: str) -> tuple[list[str], list]:
        """(texts, conditions as stored) of a stage (train, validation, test); unlabelled rows left out."""
        if stage not in self._rows:
            if self.source == "speakers":
                ds = self.split(stage)
                self._rows[stage] = (ds["text"][:], ds["speaker"][:])
            else:
                self._rows[stage] = self._labelled(stage)
        return self._rows[stage]

    def _labelled(self, stage: str) -> tuple[list[str], list]:
        name = {"train": "train", "validation": self.val_split, "test": self.test_split}[stage]
        if self.val_fraction is not None and stage in ("train", "validation"):
            name = "train"
        ds = self.split(name, text_column=self.text_column, label_column=self.label_column)
        if self.val_fraction is not None and stage in ("train", "validation"):
            cut = len(ds) - max(1, int(len(ds) * self.val_fraction))
            ds = ds.select(range(cut) if stage == "train" else range(cut, len(ds)))
        names = self.condition_names or self.label_names_arg or label_names_of(self.split("train", label_column=self.label_column),
                                                                               self.label_column, self.path)
        ids = label_ids(ds, self.label_column, names, f"{self.path!r} split {name!r}")
        texts = ds[self.text_column][:]
        keep = [i for i, y in enumerate(ids) if y != UNLABELLED]
        if not keep:
            raise SeqlitError(f"{self.path!r}: the {name!r} split has no labels (all -1), so it cannot be scored: "
                              "point data.init_args.test_split at a labelled split (SST-2: validation)")
        return [texts[i] or "" for i in keep], [names[ids[i]] for i in keep]

    # -- tokens ------------------------------------------------------------------
    @property
    def start_token(self) -> str:
        """What every sequence starts with: a prompt follows it (`seqlit.callbacks.samples.encode_prompt`)."""
        return BOS

    @property
    def stop_token(self) -> str:
        return EOS

    def tokenize(self, text: str) -> list[str]:
        """A text's tokens, then `<eos>`."""
        return (tokenize(text, self.lowercase) if self.level == "word" else list(text)) + [EOS]

    def detokenize(self, tokens: list[str]) -> str:
        words = [t for t in tokens if t not in (BOS, EOS)]
        return "".join(words) if self.level == "char" else " ".join(words)

    # -- vocabularies ---------------------------------------------------------------
    def build_vocab(self) -> None:
        texts, conditions = self.rows("train")
        self.vocab = Vocab.build((self.tokenize(t) for t in texts), specials=(PAD, UNK, BOS, EOS),
                                 max_size=self.max_vocab, min_freq=self.min_freq)
        if self.source == "speakers":
            counts = Counter(conditions)
            self.condition_names = [UNK] + sorted((s for s, c in counts.items() if c >= self.min_turns),
                                                  key=lambda s: (-counts[s], s))
        else:
            self.condition_names = self.label_names_arg or label_names_of(
                self.split("train", label_column=self.label_column), self.label_column, self.path)
        rank_zero_info(f"[seqlit] {self.level} vocabulary: {len(self.vocab)} tokens; {len(self.condition_names)} "
                       f"conditions ({', '.join(self.condition_names[:8])}{' …' if len(self.condition_names) > 8 else ''})")

    def vocab_state(self) -> dict:
        return {"level": self.level, "tokens": self.vocab.to_state(), "condition_names": list(self.condition_names),
                "lowercase": self.lowercase}

    def load_vocab_state(self, state: dict) -> None:
        self.level, self.lowercase = state["level"], state["lowercase"]
        self.vocab = Vocab.from_state(state["tokens"])
        self.condition_names = list(state["condition_names"])

    def spec(self) -> dict:
        return {"vocab_size": len(self.vocab), "pad_id": self.vocab.pad_id, "level": self.level,
                "condition_names": list(self.condition_names)}

    def condition_id(self, name: str) -> int:
        """The id of a condition by name; a name the checkpoint does not know is one line listing those it does."""
        if name not in self.condition_names:
            raise SeqlitError(f"unknown condition {name!r}: the model knows {', '.join(map(repr, self.condition_names))}")
        return self.condition_names.index(name)

    # -- examples -----------------------------------------------------------------
    def encode_split(self, name: str, stage: str) -> Sequences:
        texts, conditions = self.rows(stage)
        lookup = {n: i for i, n in enumerate(self.condition_names)}
        unk = lookup.get(UNK)
        ids, cut = [], 0
        for text in texts:
            tokens = [BOS] + self.tokenize(text)
            cut += len(tokens) - 1 > self.max_length
            ids.append(self.vocab.encode(tokens[: self.max_length + 1]))
        cond = [lookup[c] if c in lookup or unk is None else unk for c in conditions]
        if cut:
            rank_zero_info(f"[seqlit] {stage}: {cut} of {len(ids)} sequences were longer than "
                           f"data.max_length={self.max_length} tokens: their first {self.max_length} are read")
        if unk is not None:
            rank_zero_info(f"[seqlit] {stage}: {sum(c == unk for c in cond)} of {len(cond)} sequences have an {UNK} condition")
        return Sequences(ids, cond, list(texts))

    def lengths(self, examples: Sequences) -> list[int]:
        return [len(x) - 1 for x in examples.ids]

    def collate(self, batch: list[tuple]) -> dict:
        """input_ids = [<bos>] + tokens, targets = tokens + [<eos>] (IGNORE where padded), one condition per row."""
        ids, conditions, texts = zip(*batch)
        input_ids, lengths = pad([x[:-1] for x in ids], self.vocab.pad_id)
        targets, _ = pad([x[1:] for x in ids], IGNORE)
        return {"input_ids": input_ids, "targets": targets, "lengths": lengths,
                "conditions": torch.tensor(conditions), "texts": list(texts)}
