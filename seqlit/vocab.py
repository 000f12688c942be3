"""Vocabulary: token <-> id, built from the training split only.

Special tokens come first, so `<pad>` is always 0; stored in checkpoints as plain data (`to_state`), so
`test`/`predict` work from a checkpoint alone without pickle.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable

PAD, UNK, EOS, BOS = "<pad>", "<unk>", "<eos>", "<bos>"


class Vocab:
    def __init__(self, tokens: list[str], unk: str | None = UNK):
        if len(set(tokens)) != len(tokens):
            raise ValueError("Vocab: tokens must be unique")
        self.tokens = list(tokens)
        self.index = {t: i for i, t in enumerate(self.tokens)}
        self.unk_id = self.index[unk] if unk is not None else None

    @classmethod
    def build(
        cls,
        sequences: Iterable[Iterable[str]],
        specials: tuple[str, ...] = (PAD, UNK),
        max_size: int | None = None,
        min_freq: int = 1,
    ) -> Vocab:
        """Most frequent tokens first (ties broken alphabetically, so builds are reproducible)."""
        counts: Counter = Counter()
        for seq in sequences:
            counts.update(seq)
        return cls.from_counts(counts, specials=specials, max_size=max_size, min_freq=min_freq)

    @classmethod
    def from_counts(
        cls,
        counts: Counter,
        specials: tuple[str, ...] = (PAD, UNK),
        max_size: int | None = None,
        min_freq: int = 1,
    ) -> Vocab:
        """`build` from counts already taken (a corpus counted batch by batch, never held as one token list)."""
        if max_size is not None and max_size <= len(specials):
            raise ValueError(f"max_size must exceed the {len(specials)} special tokens, got {max_size}")
        if min_freq < 1:
            raise ValueError(f"min_freq must be >= 1, got {min_freq}")
        counts = Counter({t: c for t, c in counts.items() if t not in specials and c >= min_freq})
        ranked = sorted(counts, key=lambda t: (-counts[t], t))
        if max_size is not None:
            ranked = ranked[: max_size - len(specials)]
        return cls(list(specials) + ranked, unk=UNK if UNK in specials else None)

    def __len__(self) -> int:
        return len(self.tokens)

    def __contains__(self, token: str) -> bool:
        return token in self.index

    def __getitem__(self, token: str) -> int:
        return self.index[token]

    @property
    def pad_id(self) -> int:
        return self.index[PAD]

    def encode(self, tokens: Iterable[str]) -> list[int]:
        if self.unk_id is None:
            return [self.index[t] for t in tokens]
        get, unk = self.index.get, self.unk_id
        return [get(t, unk) for t in tokens]

    def decode(self, ids: Iterable[int]) -> list[str]:
        return [self.tokens[i] for i in ids]

    def to_state(self) -> dict:
        unk = self.tokens[self.unk_id] if self.unk_id is not None else None
        return {"tokens": list(self.tokens), "unk": unk}

    @classmethod
    def from_state(cls, state: dict) -> Vocab:
        return cls(state["tokens"], unk=state.get("unk"))
