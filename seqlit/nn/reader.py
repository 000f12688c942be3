"""Many-to-one reader: words in, class logits out, with any backbone.

    x<t> = [E · onehot(word t); c<t>]             (embedding, optional per-word features c<t>; dropout)
    a<1..T>, state = backbone(x<1..T>)            (any kind, depth, backend, direction)
    h = pool(a<1..T>)                             (last state, mean, max or attention over time)
    logits = Wy · dropout(h) + by                 (C classes)

Pooling never looks at padding (`last` takes each direction's own final state), so a text gets the same logits
whatever batch it is in.
"""

from __future__ import annotations

from typing import Literal

import torch
from torch import nn

from seqlit.nn.backbone import Backbone
from seqlit.nn.dropout import LockedDropout

Pooling = Literal["last", "mean", "max", "attention"]


class Pool(nn.Module):
    """Pool (B, T, F) outputs into (B, F), counting only the first `lengths[b]` steps of row b."""

    def __init__(self, pooling: Pooling, features: int):
        super().__init__()
        self.pooling = pooling
        # additive attention (Bahdanau-style scoring of each step against a learned query)
        self.score = nn.Sequential(nn.Linear(features, features), nn.Tanh(), nn.Linear(features, 1, bias=False)) \
            if pooling == "attention" else None

    def forward(self, outputs: torch.Tensor, lengths: torch.Tensor, last: torch.Tensor) -> torch.Tensor:
        """`last`: (B, F) final states, used by `last` pooling."""
        if self.pooling == "last":
            return last
        real = torch.arange(outputs.size(1), device=outputs.device)[None, :] < lengths.to(outputs.device)[:, None]
        if self.pooling == "mean":
            return (outputs * real[..., None]).sum(1) / lengths.to(outputs)[:, None]
        if self.pooling == "max":
            return outputs.masked_fill(~real[..., None], float("-inf")).amax(1)
        weights = self.score(outputs).squeeze(-1).masked_fill(~real, float("-inf")).softmax(-1)
        return torch.einsum("bt,btf->bf", weights, outputs)


class Reader(nn.Module):
    """Embedding → backbone → pooling → linear. Arguments as in `seqlit.tasks.Classifier`.

    `backbone` reads `embedding_dim` features plus the width of the per-word features given to `forward`
    (none: just `embedding_dim`); `unk_id` is where `word_dropout` sends dropped
    words (None: no word dropout).
    """

    def __init__(self, vocab_size: int, pad_id: int, unk_id: int | None, num_classes: int, backbone: Backbone, *,
                 embedding_dim: int, embedding_std: float, pooling: Pooling,
                 embedding_dropout: float, word_dropout: float, dropout: float):
        super().__init__()
        self.pad_id, self.unk_id, self.word_dropout = pad_id, unk_id, word_dropout
        self.embedding = nn.Embedding(vocab_size, embedding_dim, padding_idx=pad_id)
        self.init_embedding(embedding_std)
        self.embedding_dropout = LockedDropout(embedding_dropout)
        self.backbone = backbone
        self.pool = Pool(pooling, backbone.output_size)
        self.dropout = nn.Dropout(dropout)
        self.out = nn.Linear(backbone.output_size, num_classes)

    @torch.no_grad()
    def init_embedding(self, std: float) -> None:
        """Word vectors start small: N(0, 0.1²) by default, instead of torch's N(0, 1).

        Adam moves every weight by about `lr` per step, so small vectors change quickly relative to themselves and a
        word seen a few dozen times already carries its sentiment (measured: docs/results/sentiment.md).
        """
        nn.init.normal_(self.embedding.weight, std=std)
        self.embedding.weight[self.embedding.padding_idx].zero_()

    def last_state(self, outputs: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        """(B, D*H): the top layer's final state, both directions (forward first).

        Read from `outputs` rather than the returned state (same values) so ∂L/∂a<t> flows through the per-step
        outputs, which is what the gradient-flow callback measures.
        """
        hidden = self.backbone.hidden_size
        rows = torch.arange(outputs.size(0), device=outputs.device)
        forward = outputs[rows, lengths.to(outputs.device) - 1, :hidden]
        return forward if self.backbone.num_directions == 1 else torch.cat([forward, outputs[:, 0, hidden:]], dim=-1)

    def drop_words(self, input_ids: torch.Tensor) -> torch.Tensor:
        """Replace words by `<unk>` with probability `word_dropout` (training only; padding kept).

        Otherwise `<unk>` never occurs in training and its vector stays random (docs/results/sentiment.md).
        """
        if not (self.training and self.word_dropout):
            return input_ids
        drop = (torch.rand(input_ids.shape, device=input_ids.device) < self.word_dropout) & (input_ids != self.pad_id)
        return input_ids.masked_fill(drop, self.unk_id)

    def forward(self, input_ids: torch.Tensor, lengths: torch.Tensor, features: torch.Tensor | None = None) -> torch.Tensor:
        """Class logits (B, C); `features` (B, T, F), if given, join each word's vector before the dropout."""
        x = self.embedding(self.drop_words(input_ids))
        x = self.embedding_dropout(x if features is None else torch.cat([x, features.to(x)], dim=-1))
        outputs, _ = self.backbone(x, lengths=lengths)
        pooled = self.pool(outputs, lengths, self.last_state(outputs, lengths))
        return self.out(self.dropout(pooled))
