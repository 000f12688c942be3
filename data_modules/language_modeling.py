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

from data_modules.base import SPLITS, SeqDataModule, positive
from data_modules.corpora import is_embedded, load_embedded
from data_modules.resumable import ResumableLoader
from data_modules.streams import BPTTSampler, StreamWindows, batchify, rank_rows
from seqlit.errors import SeqlitError
from seqlit.vocab import EOS, PAD, UNK, Vocab


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
        seed: seed for random window lengths (None: the run's `seed_everything`).
        vocab_from: read the vocabulary from this checkpoint instead of building it.
    """

    predict_hint = "a language model continues a prompt instead: python -m seqlit generate --ckpt_path CKPT --prompt TEXT"

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
        seed: int | None = None,
        vocab_from: str | None = None,
    ):
        super().__init__(path=path, name=name, split_fractions=split_fractions, batch_size=batch_size,
                         eval_batch_size=eval_batch_size, seed=seed, vocab_from=vocab_from)
        for arg in ("bptt", "min_freq"):
            positive(f"data.{arg}", locals()[arg])
        positive("data.max_vocab", max_vocab, allow_none=True)
        self.save_hyperparameters(ignore=["vocab_from"])
        self.level, self.text_column, self.bptt = level, text_column, bptt
        self.random_bptt, self.max_vocab, self.min_freq = random_bptt, max_vocab, min_freq
        self.vocab: Vocab | None = None
        self._lines: dict[str, list[str]] | None = None

    # -- text ----------------------------------------------------------------
    def load(self) -> datasets.DatasetDict:
        if is_embedded(self.path):
            return datasets.DatasetDict({"train": load_embedded(self.path)})
        return super().load()

    def lines(self) -> dict[str, list[str]]:
        """Each split as a list of lines (trailing newline removed)."""
        if self._lines is None:
            self._lines = {}
            for split in SPLITS:
                texts = self.split(split, text_column=self.text_column)[self.text_column][:]
                self._lines[split] = [t.rstrip("\n") if t else "" for t in texts]
                if not any(self._lines[split]):
                    raise SeqlitError(f"{self.path!r}: the {split} split is empty: give it some text")
        return self._lines

    def tokenize(self, line: str) -> list[str]:
        return line.split() + [EOS] if self.level == "word" else list(line) + ["\n"]

    @property
    def start_token(self) -> str:
        """What a line starts after and ends with: the newline (characters) or `<eos>` (words); a prompt follows it."""
        return "\n" if self.level == "char" else EOS

    stop_token = start_token

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
    def encode_split(self, name: str, stage: str) -> torch.Tensor:
        """A split as one id sequence, the lines' tokens one after another."""
        encoded = [i for line in self.lines()[name] for i in self.vocab.encode(self.tokenize(line))]
        return torch.tensor(encoded, dtype=torch.long)

    def loader(self, stage: str) -> DataLoader:
        """Contiguous streams instead of buckets: each rank its own rows (streams.py), windows of `bptt` tokens."""
        rank, world = self.world()
        n_streams = self.batch_size * world if stage == "train" else self.eval_batch_size
        streams = rank_rows(batchify(self.encoded(stage), n_streams), rank, world)
        if streams.size(0) == 0:
            raise SeqlitError(f"data.eval_batch_size={n_streams} gives rank {rank} no stream: use at least {world}")
        windows = StreamWindows(streams)
        sampler = BPTTSampler(len(windows), self.bptt, self.random_bptt and stage == "train", self.seed)
        return ResumableLoader(windows, sampler=sampler, batch_size=None)

    def tokens_per_epoch(self) -> int:
        return self.encoded("train").numel()

    def describe(self) -> str:
        n = {s: self.encoded(s).numel() for s in SPLITS}
        return ", ".join(f"{s} {v:,} tokens" for s, v in n.items()) + f"; vocab {len(self.vocab):,}; log(V)={math.log(len(self.vocab)):.2f}"
