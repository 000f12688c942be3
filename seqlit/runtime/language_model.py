"""The language model's `predict_text`: each text scored as a line of the corpus, its perplexity per token.

As `LanguageModel.predict_batches` reads a text: after the line break that ends the previous line (`\\n` for
characters, `<eos>` for words), up to and including its own end; the graph gives the next token's
log-probabilities after each position (padding comes after the real tokens, so it changes none of them).
"""

from __future__ import annotations

import math

import numpy as np

from .errors import ModelFolderError
from .records import numbered, with_blank
from .text import pad


class OnnxLanguageModel:
    """An exported forward `seqlit.tasks.LanguageModel`: `predict_text` gives `predict`'s records (nll, ppl)."""

    def __init__(self, spec: dict, config: dict, vocab: dict, session):
        if vocab.get("direction", "forward") != "forward":
            raise ModelFolderError("this language model reads text backwards, which the runtime does not score: "
                                   "use seqlit.deploy.load for it")
        self.session = session
        self.batch_size = int(config["data"]["init_args"].get("eval_batch_size") or 32)
        self.level = vocab["level"]
        self.index = {t: i for i, t in enumerate(vocab["tokens"]["tokens"])}
        self.pad, self.unk = self.index["<pad>"], self.index.get(vocab["tokens"].get("unk") or "<unk>")

    def tokenize(self, line: str) -> list[str]:
        return line.split() + ["<eos>"] if self.level == "word" else list(line) + ["\n"]

    def ids(self, text: str) -> list[int]:
        tokens = self.tokenize("")[-1:] + self.tokenize(text)
        if self.unk is None and any(t not in self.index for t in tokens):
            raise ModelFolderError(f"text {text[:40]!r} holds a token outside the vocabulary, which has no <unk>")
        return [self.index.get(t, self.unk) for t in tokens]

    def predict_text(self, texts, batch_size: int | None = None) -> list[dict]:
        lines, records = numbered(texts), []
        size = batch_size or self.batch_size
        for first in range(0, len(lines), size):
            chunk = lines[first: first + size]
            ids = [self.ids(text) for _, text in chunk]
            log_probs = self.session.run(["log_probs"], {"input_ids": pad([x[:-1] for x in ids], self.pad)})[0]
            for (i, text), x, row in zip(chunk, ids, log_probs):
                n = len(x) - 1
                nll = float(-row[np.arange(n), x[1:]].sum(dtype=np.float32) / np.float32(n))
                records.append({"index": i, "text": text, "tokens": n, "nll": round(nll, 6), "ppl": round(math.exp(nll), 6)})
        return with_blank(records, len(texts))
