"""Attention over encoder outputs: which source positions the decoder reads at step t.

    e<t,t'> = score(s<t-1>, a<t'>)                   one number per source position t'
    α<t,t'> = softmax over t' of e<t,t'>             padded positions get exactly 0
    c<t>    = Σ_t' α<t,t'> a<t'>                     the context vector

Scores: additive (Bahdanau et al. 2015, e = vᵀ tanh(Wq s + Wk a)) and multiplicative (Luong et al. 2015
"general", e = sᵀ W a). The encoder outputs are projected once per sentence (`keys`), and padding is masked
before the softmax, so a sentence gets the same context whatever batch it is in.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

KINDS = ("additive", "multiplicative")


class Attention(nn.Module):
    """Base class: subclasses define `keys(memory)` and `scores(query, keys)`."""

    def keys(self, memory: Tensor) -> Tensor:
        """Per-sentence projection of the encoder outputs (B, S, M), computed once per batch."""
        raise NotImplementedError

    def scores(self, query: Tensor, keys: Tensor) -> Tensor:
        """(B, S) unnormalised scores of the query (B, Q) against every source position."""
        raise NotImplementedError

    def forward(self, query: Tensor, memory: Tensor, mask: Tensor, keys: Tensor | None = None) -> tuple[Tensor, Tensor]:
        """Context (B, M) and weights (B, S).

        Args:
            query: (B, Q) decoder state s<t-1>.
            memory: (B, S, M) encoder outputs a<1..S>.
            mask: (B, S) bool, True at real source positions (at least one per row).
            keys: `self.keys(memory)`, if already computed for this batch.
        """
        keys = self.keys(memory) if keys is None else keys
        weights = self.scores(query, keys).masked_fill(~mask, float("-inf")).softmax(-1)
        return torch.bmm(weights.unsqueeze(1), memory).squeeze(1), weights


class AdditiveAttention(Attention):
    """Bahdanau: a one-hidden-layer network scores each (query, position) pair."""

    def __init__(self, query_size: int, memory_size: int, attention_size: int):
        super().__init__()
        self.query = nn.Linear(query_size, attention_size, bias=False)
        self.key = nn.Linear(memory_size, attention_size)
        self.v = nn.Linear(attention_size, 1, bias=False)

    def keys(self, memory: Tensor) -> Tensor:
        return self.key(memory)

    def scores(self, query: Tensor, keys: Tensor) -> Tensor:
        return self.v(torch.tanh(keys + self.query(query).unsqueeze(1))).squeeze(-1)


class MultiplicativeAttention(Attention):
    """Luong "general": a bilinear form sᵀ W a, i.e. a dot product with W a."""

    def __init__(self, query_size: int, memory_size: int):
        super().__init__()
        self.key = nn.Linear(memory_size, query_size, bias=False)

    def keys(self, memory: Tensor) -> Tensor:
        return self.key(memory)

    def scores(self, query: Tensor, keys: Tensor) -> Tensor:
        return torch.bmm(keys, query.unsqueeze(-1)).squeeze(-1)


def build_attention(kind: str, query_size: int, memory_size: int, attention_size: int) -> Attention:
    """`attention_size` is the hidden layer of the additive score (unused by the multiplicative one)."""
    if kind == "additive":
        return AdditiveAttention(query_size, memory_size, attention_size)
    if kind == "multiplicative":
        return MultiplicativeAttention(query_size, memory_size)
    raise ValueError(f"attention must be one of {', '.join(KINDS)}, got {kind!r}")
