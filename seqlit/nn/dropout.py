"""Variational ("locked") dropout: one mask per sequence, shared across time.

A new mask at every step injects noise that the recurrent state accumulates (Gal & Ghahramani 2016; AWD-LSTM).
"""

from __future__ import annotations

import torch
from torch import nn


class LockedDropout(nn.Module):
    def __init__(self, p: float = 0.0):
        super().__init__()
        if not 0.0 <= p < 1.0:
            raise ValueError(f"LockedDropout: p must be in [0, 1), got {p}")
        self.p = p

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """x: (B, T, F); the mask is (B, 1, F)."""
        if not self.training or self.p == 0.0:
            return x
        mask = x.new_empty(x.size(0), 1, x.size(2)).bernoulli_(1 - self.p) / (1 - self.p)
        return x * mask
