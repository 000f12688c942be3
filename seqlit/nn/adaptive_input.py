"""Adaptive input embedding: fewer dimensions for rarer tokens (Baevski & Auli, 2019).

The input-side twin of the adaptive softmax, cut at the same frequency cutoffs: the head gets `dim`-wide
vectors, cluster i `dim / div_value**i`-wide ones that a bias-free map lifts back to `dim`. On CPUs the full
table's dense gradient dominates a step; this one is 8x smaller (figures: docs/results/language_modeling.md).
"""

from __future__ import annotations

import torch
from torch import nn


class AdaptiveInput(nn.Module):
    def __init__(self, vocab_size: int, dim: int, cutoffs: list[int], div_value: float = 4.0):
        super().__init__()
        if list(cutoffs) != sorted(set(cutoffs)) or not all(0 < c < vocab_size for c in cutoffs):
            raise ValueError(f"AdaptiveInput: cutoffs {cutoffs} must increase strictly within (0, {vocab_size})")
        self.dim = dim
        self.bounds = [0, *cutoffs, vocab_size]
        sizes = [int(dim // div_value**i) for i in range(len(self.bounds) - 1)]  # the adaptive softmax's widths
        if sizes[-1] < 1:
            raise ValueError(f"AdaptiveInput: dim {dim} leaves the last of {len(sizes)} clusters no width "
                             f"(dim / {div_value}**{len(sizes) - 1} < 1): use a wider embedding or fewer cutoffs")
        self.tables = nn.ModuleList(nn.Embedding(hi - lo, size)
                                    for lo, hi, size in zip(self.bounds, self.bounds[1:], sizes))
        self.projections = nn.ModuleList(nn.Identity() if size == dim else nn.Linear(size, dim, bias=False)
                                         for size in sizes)
        for project, size in zip(self.projections, sizes):
            if isinstance(project, nn.Linear):  # lifted vectors as large as the head's N(0, 1) ones
                nn.init.normal_(project.weight, std=size**-0.5)

    def tie_to(self, softmax: nn.AdaptiveLogSoftmaxWithLoss) -> None:
        """Share each cluster's table with the adaptive softmax's output rows for the same tokens.

        The shapes match, so a rare word's vector is trained from both sides (Press & Wolf, 2017); the head's extra
        cluster rows are never looked up as inputs, and projections stay separate.
        """
        outputs = [softmax.head.weight, *(tail[1].weight for tail in softmax.tail)]
        if softmax.cutoffs != self.bounds[1:] or [w.shape[1] for w in outputs] != [t.weight.shape[1] for t in self.tables]:
            raise ValueError(f"AdaptiveInput.tie_to: softmax cutoffs {softmax.cutoffs} / widths do not match "
                             f"the input's {self.bounds[1:]}")
        for table, weight in zip(self.tables, outputs):
            table.weight = weight

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        """ids: any shape of token ids; returns that shape + (dim,), in the tables' dtype
        (under autocast the lifted clusters come out in lower precision; the output does not
        depend on which clusters a batch happens to use)."""
        flat = ids.reshape(-1)
        head = self.tables[0].weight
        out = head.new_zeros(flat.numel(), self.dim)
        for lo, hi, table, project in zip(self.bounds, self.bounds[1:], self.tables, self.projections):
            rows = ((flat >= lo) & (flat < hi)).nonzero().squeeze(1)
            if rows.numel():
                out = out.index_copy(0, rows, project(table(flat[rows] - lo)).to(out.dtype))
        return out.view(*ids.shape, self.dim)
