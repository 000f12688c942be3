"""The conditional language model's `generate`: a continuation written under a condition (a label, a speaker…).

As `python -m seqlit generate --condition …` writes it: the sequence starts at `<bos>` from the condition's
own state (the graph's `fresh` rows: the bridge for `init`, zeros otherwise), and ends at `<eos>`, after
which nothing was trained. The condition is named as `--condition` names it (`data_modules.conditions`):
`label=positive,topic=news`, or the bare name for a model of one field.
"""

from __future__ import annotations

import numpy as np

from . import state as steps
from .errors import ModelFolderError
from .language_model import continuation
from .sampling import check, continue_ids
from .text import SENTIMENT_TOKEN

BOS, EOS = "<bos>", "<eos>"


def condition_ids(text: str | None, fields: dict[str, list[str]]) -> list[int]:
    """The id in each field of the condition `text` names, in field order; one line for a wrong one."""
    names = next(iter(fields.values()))
    if len(fields) == 1 and text in names:
        return [names.index(text)]
    chosen: dict[str, str] = {}
    for part in (text or "").split(","):
        field, eq, value = (s.strip() for s in part.partition("="))
        if not eq or field not in fields or field in chosen or value not in fields[field]:
            chosen = {}
            break
        chosen[field] = value
    if len(chosen) != len(fields):
        knows = "; ".join(f"{f}: {', '.join(map(repr, n))}" for f, n in fields.items())
        raise ModelFolderError(f"condition {text!r} does not name one known value per field: pass "
                               f"{','.join(f'{f}=NAME' for f in fields)}{' or the bare name' if len(fields) == 1 else ''} "
                               f"(the model knows {knows})")
    return [fields[f].index(chosen[f]) for f in fields]


class OnnxConditionalLanguageModel:
    """An exported `seqlit.tasks.ConditionalLanguageModel`: `generate(prompt, condition=…)` as `generate` writes."""

    def __init__(self, spec: dict, config: dict, vocab: dict, session):
        text = spec.get("text") or {"level": vocab["level"], "lowercase": vocab.get("lowercase", True)}
        self.session, self.level, self.lowercase = session, text["level"], bool(text["lowercase"])
        self.fields = {f: list(names) for f, names in spec["condition_fields"].items()}
        self.tokens = list(vocab["tokens"]["tokens"])
        self.index = {t: i for i, t in enumerate(self.tokens)}
        self.unk = self.index.get(vocab["tokens"].get("unk") or "<unk>")

    def tokenize(self, text: str) -> list[str]:
        """`data_modules.conditional_encode.tokens` without its `<eos>`: words (the sentiment tokenizer) or characters."""
        return SENTIMENT_TOKEN.findall(text.lower() if self.lowercase else text) if self.level == "word" else list(text)

    def prompt_ids(self, prompt: str) -> list[int]:
        tokens = [BOS, *self.tokenize(prompt)]
        if self.unk is None and any(t not in self.index for t in tokens):
            raise ModelFolderError(f"prompt {prompt[:40]!r} holds a token outside the vocabulary, which has no <unk>")
        return [self.index.get(t, self.unk) for t in tokens]

    def detokenize(self, ids: list[int]) -> str:
        words = [self.tokens[i] for i in ids if self.tokens[i] not in (BOS, EOS)]
        return "".join(words) if self.level == "char" else " ".join(words)

    def generate_ids(self, prompt: str = "", condition: str | None = None, max_tokens: int = 200,
                     temperature: float = 0.8, top_k: int | None = None, top_p: float | None = None,
                     seed: int = 0) -> list[int]:
        """The ids that continue `prompt` under `condition`, up to and including `<eos>` (`generate`'s options)."""
        check(max_tokens, temperature, top_k, top_p, len(self.tokens))
        conditions = np.array([condition_ids(condition, self.fields)], dtype=np.int64)

        def step(ids: np.ndarray, state: dict | None):
            feeds = {"input_ids": ids, "conditions": conditions, "fresh": np.array([state is None])}
            out, state = steps.run(self.session, feeds, state or steps.zeros(self.session, 1))
            return out["log_probs"], state

        return continue_ids(step, self.prompt_ids(prompt), max_tokens, temperature, top_k, top_p, self.index[EOS], seed)

    def generate(self, prompt: str = "", condition: str | None = None, **options) -> str:
        """The prompt and its continuation as text, as `generate --condition` prints it."""
        return continuation(prompt, self.detokenize(self.generate_ids(prompt, condition, **options)), self.level)
