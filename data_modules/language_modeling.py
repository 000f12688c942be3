"""Language-model corpora: word or character tokens as contiguous streams.

Word level follows the course: each line's words, then `<eos>`; words outside
the (training-split, size-capped) vocabulary become `<unk>`. Character level
keeps every character, newline included, so the newline plays `<eos>`.

A corpus with one split only (a single text file such as Tiny Shakespeare, or
the embedded quickstart corpus) is cut by lines into train/validation/test
with the fixed fractions `split_fractions` (default 90/5/5).
"""

from __future__ import annotations

import math
from typing import Literal

import datasets
import torch
from pytorch_lightning.utilities import rank_zero_info
from torch.utils.data import DataLoader

from data_modules.base import SeqDataModule, positive
from data_modules.corpora import is_embedded, load_embedded
from data_modules.loading import load_splits
from data_modules.resumable import ResumableLoader
from data_modules.streams import BPTTSampler, StreamWindows, batchify, rank_rows
from seqlit.errors import SeqlitError
from seqlit.vocab import EOS, PAD, UNK, Vocab

SPLITS = ("train", "validation", "test")


class LanguageModelingData(SeqDataModule):
    """Next-token prediction on a text corpus.

    Args:
        path: hub id (`wikitext` with `name: wikitext-2-v1`), a folder of split files
            (`../shared/data/wikitext-2`), one text file (`input.txt`), or `embedded:pydoc_topics`.
        name: hub configuration name, if the hub dataset has several.
        level: `word` (whitespace tokens + `<eos>` per line) or `char`.
        text_column: column holding the text.
        batch_size: parallel training streams per device.
        eval_batch_size: parallel streams for validation/test (global: split across ranks,
            so one and several processes score exactly the same windows).
        bptt: tokens per window (truncated back-propagation length).
        random_bptt: draw each window's length around `bptt` (AWD-LSTM style).
        max_vocab: cap on vocabulary size, specials included (None: no cap).
        min_freq: words seen fewer times in training become `<unk>`.
        split_fractions: train/validation/test fractions of lines for one-split corpora.
        seed: seed for random window lengths.
        vocab_from: read the vocabulary from this checkpoint instead of building it.
    """

    def __init__(
        self,
        path: str = "embedded:pydoc_topics",
        name: str | None = None,
        level: Literal["word", "char"] = "word",
        text_column: str = "text",
        batch_size: int = 32,
        eval_batch_size: int = 10,
        bptt: int = 64,
        random_bptt: bool = False,
        max_vocab: int | None = None,
        min_freq: int = 1,
        split_fractions: tuple[float, float, float] = (0.9, 0.05, 0.05),
        seed: int = 0,
        vocab_from: str | None = None,
    ):
        super().__init__(vocab_from=vocab_from)
        for arg in ("batch_size", "eval_batch_size", "bptt", "min_freq"):
            positive(f"data.{arg}", locals()[arg])
        positive("data.max_vocab", max_vocab, allow_none=True)
        if abs(sum(split_fractions) - 1.0) > 1e-6 or min(split_fractions) <= 0:
            raise SeqlitError(f"data.split_fractions must be three positive fractions summing to 1, got {split_fractions}")
        self.save_hyperparameters(ignore=["vocab_from"])
        self.path, self.name, self.level, self.text_column = path, name, level, text_column
        self.batch_size, self.eval_batch_size, self.bptt = batch_size, eval_batch_size, bptt
        self.random_bptt, self.max_vocab, self.min_freq = random_bptt, max_vocab, min_freq
        self.split_fractions, self.seed = split_fractions, seed
        self.vocab: Vocab | None = None
        self._lines: dict[str, list[str]] | None = None
        self._ids: dict[str, torch.Tensor] = {}

    # -- text ----------------------------------------------------------------
    def lines(self) -> dict[str, list[str]]:
        """Each split as a list of lines (trailing newline removed)."""
        if self._lines is None:
            if is_embedded(self.path):
                data = datasets.DatasetDict({"train": load_embedded(self.path)})
            else:
                data = load_splits(self.path, self.name)
            for split, ds in data.items():
                if self.text_column not in ds.column_names:
                    raise SeqlitError(
                        f"{self.path!r} split {split!r} has no column {self.text_column!r} "
                        f"(columns: {', '.join(ds.column_names)}): set --data.init_args.text_column"
                    )
            texts = {s: [t.rstrip("\n") if t else "" for t in data[s][self.text_column]] for s in data}
            self._lines = texts if set(SPLITS) <= set(texts) else self._cut(texts)
            for split in SPLITS:
                if not any(self._lines[split]):
                    raise SeqlitError(f"{self.path!r}: the {split} split is empty: give it some text")
        return self._lines

    def _cut(self, texts: dict[str, list[str]]) -> dict[str, list[str]]:
        if "train" not in texts:
            raise SeqlitError(f"{self.path!r} has no train split (found: {', '.join(texts)})")
        lines = texts["train"]
        n_train = int(len(lines) * self.split_fractions[0])
        n_val = int(len(lines) * self.split_fractions[1])
        cut = {"train": lines[:n_train], "validation": lines[n_train : n_train + n_val], "test": lines[n_train + n_val :]}
        for s in ("validation", "test"):
            if s in texts:
                cut[s] = texts[s]
        return cut

    def tokenize(self, line: str) -> list[str]:
        return line.split() + [EOS] if self.level == "word" else list(line) + ["\n"]

    def detokenize(self, tokens: list[str]) -> str:
        if self.level == "char":
            return "".join(tokens)
        return " ".join("\n" if t == EOS else t for t in tokens).replace(" \n ", "\n").replace(" \n", "\n")

    # -- vocabulary ------------------------------------------------------------
    def build_vocab(self) -> None:
        train = (self.tokenize(line) for line in self.lines()["train"])
        specials = (PAD, UNK, EOS) if self.level == "word" else (PAD, UNK)
        self.vocab = Vocab.build(train, specials=specials, max_size=self.max_vocab, min_freq=self.min_freq)
        rank_zero_info(f"[seqlit] {self.level} vocabulary: {len(self.vocab)} tokens from the training split")

    def vocab_state(self) -> dict:
        return {"level": self.level, "tokens": self.vocab.to_state()}

    def load_vocab_state(self, state: dict) -> None:
        if state["level"] != self.level:
            raise SeqlitError(f"the checkpoint holds a {state['level']}-level vocabulary, but data.level is {self.level!r}: "
                              f"drop the data.level override (the checkpoint's is used) or pass a {self.level}-level checkpoint")
        self.vocab = Vocab.from_state(state["tokens"])

    def spec(self) -> dict:
        return {"vocab_size": len(self.vocab), "pad_id": self.vocab.pad_id, "level": self.level}

    # -- tensors ------------------------------------------------------------------
    def ids(self, split: str) -> torch.Tensor:
        if split not in self._ids:
            self.ensure_vocab()
            encoded = [i for line in self.lines()[split] for i in self.vocab.encode(self.tokenize(line))]
            self._ids[split] = torch.tensor(encoded, dtype=torch.long)
        return self._ids[split]

    def read(self, split: str) -> None:
        if split != "predict":  # language models `generate` instead
            self.ids(split)

    def setup(self, stage: str | None = None) -> None:
        self.ensure_vocab()

    def _world(self) -> tuple[int, int]:
        trainer = self.trainer
        return (trainer.global_rank, trainer.world_size) if trainer is not None else (0, 1)

    def _loader(self, split: str, n_streams: int, random_length: bool) -> DataLoader:
        rank, world = self._world()
        total = n_streams * world if split == "train" else n_streams
        streams = rank_rows(batchify(self.ids(split), total), rank, world)
        if streams.size(0) == 0:
            raise SeqlitError(f"data.eval_batch_size={n_streams} gives rank {rank} no stream: use at least {world}")
        windows = StreamWindows(streams)
        sampler = BPTTSampler(len(windows), self.bptt, random_length, self.seed)
        return ResumableLoader(windows, sampler=sampler, batch_size=None)

    def train_dataloader(self) -> DataLoader:
        return self._loader("train", self.batch_size, self.random_bptt)

    def val_dataloader(self) -> DataLoader:
        return self._loader("validation", self.eval_batch_size, False)

    def test_dataloader(self) -> DataLoader:
        return self._loader("test", self.eval_batch_size, False)

    def tokens_per_epoch(self) -> int:
        return self.ids("train").numel()

    def describe(self) -> str:
        n = {s: self.ids(s).numel() for s in SPLITS}
        return ", ".join(f"{s} {v:,} tokens" for s, v in n.items()) + f"; vocab {len(self.vocab):,}; log(V)={math.log(len(self.vocab)):.2f}"
