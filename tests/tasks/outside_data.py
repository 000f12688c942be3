"""The data of the counting task (outside_task.py), defined only here: strings of `a` and `b`, target the number of `a`s.

Generated from the seed, split by split, as a `datasets.DatasetDict` (`load`), so the rest is seqlit's one data
path: checks, bucketing, loaders, vocabulary saved in checkpoints, streamed predict files.
"""

from __future__ import annotations

import random

import datasets

from data_modules.base import SPLITS, SeqDataModule
from data_modules.bucketing import pad
from seqlit.errors import SeqlitError

TOKENS = ["<pad>", "a", "b"]


class CountingData(SeqDataModule):
    """Args: size: examples per split; max_length: longest string; batch_size / eval_batch_size; seed."""

    predict_unit = "string of a and b"

    def __init__(self, size: int = 64, max_length: int = 8, batch_size: int = 16, eval_batch_size: int = 32,
                 seed: int | None = None, vocab_from: str | None = None, predict_file: str | None = None):
        super().__init__(batch_size=batch_size, eval_batch_size=eval_batch_size, seed=seed, vocab_from=vocab_from,
                         predict_file=predict_file)
        self.save_hyperparameters(ignore=["vocab_from", "predict_file"])
        self.size, self.max_length = size, max_length

    def load(self) -> datasets.DatasetDict:
        rng = random.Random(self.seed)
        return datasets.DatasetDict({name: datasets.Dataset.from_dict({"text": [
            " ".join(rng.choice("ab") for _ in range(rng.randint(1, self.max_length))) for _ in range(self.size)]})
            for name in SPLITS})

    def build_vocab(self) -> None:
        pass  # the alphabet is fixed

    def vocab_state(self) -> dict:
        return {"tokens": TOKENS}

    def load_vocab_state(self, state: dict) -> None:
        if state["tokens"] != TOKENS:
            raise SeqlitError(f"CountingData: the checkpoint's tokens {state['tokens']} are not {TOKENS}")

    def spec(self) -> dict:
        return {"vocab_size": len(TOKENS), "pad_id": 0}

    def encode(self, n: int, text: str) -> dict:
        words = text.split()
        if not words or set(words) - {"a", "b"}:
            raise SeqlitError(f"CountingData: line {n + 1} ({text!r}) must be a and b separated by spaces")
        return {"ids": [TOKENS.index(w) for w in words], "count": float(words.count("a")), "text": text, "index": n}

    def encode_split(self, name: str, stage: str) -> list[dict]:
        return [self.encode(i, text) for i, text in enumerate(self.split(name)["text"])]

    def encode_lines(self, lines: list[tuple[int, str | dict]]) -> list[dict]:
        return [self.encode(n, *self.line_texts([(n, line)], "text")[1]) for n, line in lines]

    def lengths(self, examples: list[dict]) -> list[int]:
        return [len(e["ids"]) for e in examples]

    def collate(self, examples: list[dict]) -> dict:
        import torch

        ids, lengths = pad([e["ids"] for e in examples], 0)
        return {"input_ids": ids, "lengths": lengths, "counts": torch.tensor([e["count"] for e in examples]),
                "index": [e["index"] for e in examples], "texts": [e["text"] for e in examples]}
