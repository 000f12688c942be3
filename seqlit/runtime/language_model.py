"""The language model's `predict_text` and `generate`.

`predict_text` scores each text as a line of the corpus, its perplexity per token, as
`LanguageModel.predict_batches` reads it: after the line break that ends the previous line (`\\n` for
characters, `<eos>` for words), up to and including its own end; the graph, from a zero state, gives the
next token's log-probabilities after each position (padding comes after the real tokens, so it changes
none of them). `generate` continues a prompt as `python -m seqlit generate` does, carrying the state.
"""

from __future__ import annotations

import math

import numpy as np

from . import state as steps
from .errors import ModelFolderError
from .records import numbered, with_blank
from .sampling import check, continue_ids
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
        self.tokens = list(vocab["tokens"]["tokens"])
        self.index = {t: i for i, t in enumerate(self.tokens)}
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
            log_probs = steps.run(self.session, {"input_ids": pad([x[:-1] for x in ids], self.pad)},
                                  steps.zeros(self.session, len(ids)))[0]["log_probs"]
            for (i, text), x, row in zip(chunk, ids, log_probs):
                n = len(x) - 1
                nll = float(-row[np.arange(n), x[1:]].sum(dtype=np.float32) / np.float32(n))
                records.append({"index": i, "text": text, "tokens": n, "nll": round(nll, 6), "ppl": round(math.exp(nll), 6)})
        return with_blank(records, len(texts))

    # -- generation (`python -m seqlit generate`) ------------------------------------------
    def step(self, ids: np.ndarray, state: dict | None):
        out, state = steps.run(self.session, {"input_ids": ids}, state or steps.zeros(self.session, len(ids)))
        return out["log_probs"], state

    def prompt_ids(self, prompt: str) -> list[int]:
        """The line break a line starts after, then the prompt's tokens (`seqlit.callbacks.samples.encode_prompt`)."""
        return self.ids(prompt)[:-1] if prompt else self.ids("")[:1]

    def detokenize(self, ids: list[int]) -> str:
        tokens = [self.tokens[i] for i in ids]
        if self.level == "char":
            return "".join(tokens)
        return " ".join("\n" if t == "<eos>" else t for t in tokens).replace(" \n ", "\n").replace(" \n", "\n")

    def generate_ids(self, prompt: str = "", max_tokens: int = 200, temperature: float = 0.8, top_k: int | None = None,
                     top_p: float | None = None, seed: int = 0, stop_at_eos: bool = False) -> list[int]:
        """The ids that continue `prompt` (`generate`'s options and defaults; `stop_at_eos`: end with the line)."""
        check(max_tokens, temperature, top_k, top_p, len(self.tokens))
        stop = self.ids("")[0] if stop_at_eos else None
        return continue_ids(self.step, self.prompt_ids(prompt), max_tokens, temperature, top_k, top_p, stop, seed)

    def generate(self, prompt: str = "", **options) -> str:
        """The prompt and its continuation as text, as `generate` prints it (`generate_ids`' options)."""
        return continuation(prompt, self.detokenize(self.generate_ids(prompt, **options)), self.level)


def continuation(prompt: str, text: str, level: str) -> str:
    """The prompt and the generated text (a space between them for words): `seqlit.callbacks.samples.continuation`."""
    return prompt + (" " if prompt and level == "word" and text and not text.startswith("\n") else "") + text
