"""A backbone that lives only in the tests: proof that any `seqlit.nn.Backbone` plugs into every task by config.

    a<t> = λ a<t-1> + (1 - λ) tanh(W x<t> + b)        (a leaky average of the inputs; no gates, no torch RNN)
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from seqlit.nn import Backbone


class LeakyAverage(Backbone):
    def __init__(self, input_size: int, hidden_size: int = 8, leak: float = 0.5):
        super().__init__(input_size, hidden_size)
        self.leak = leak
        self.proj = nn.Linear(input_size, hidden_size)

    def forward(self, x: Tensor, lengths: Tensor | None = None, state: Tensor | None = None):
        lengths, state = self.check_inputs(x, lengths, state)  # the contract's shapes, checked by the base class
        a = x.new_zeros(1, x.size(0), self.hidden_size) if state is None else state
        real = None if lengths is None else (torch.arange(x.size(1), device=x.device)[None, :]
                                             < lengths.to(x.device)[:, None])
        outputs = []
        for t in range(x.size(1)):
            new = self.leak * a[0] + (1 - self.leak) * torch.tanh(self.proj(x[:, t]))
            if real is not None:  # padding carries the state and outputs zeros
                new = torch.where(real[:, t, None], new, a[0])
            a = new[None]
            outputs.append(new if real is None else new * real[:, t, None])
        return torch.stack(outputs, dim=1), a

    def step(self, x: Tensor, state: Tensor | None = None):
        out, state = self.forward(x[:, None], state=state)
        return out[:, 0], state
