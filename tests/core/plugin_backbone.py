"""A backbone that lives only in the tests: proof that any `seqlit.nn.Backbone` plugs into every task by config.

    a<t> = λ a<t-1> + (1 - λ) tanh(W x<t> + b)        (a leaky average of the inputs; no gates, no torch RNN)

Stacked layers each read the layer below; each layer is one of its `layer_groups` (gradual unfreezing), and
the top layer's states take the contract's probes (the gradient-flow callback).
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from seqlit.nn import Backbone


class LeakyAverage(Backbone):
    def __init__(self, input_size: int, hidden_size: int = 8, leak: float = 0.5, num_layers: int = 1):
        super().__init__(input_size, hidden_size, num_layers)
        self.leak = leak
        self.layers = nn.ModuleList(nn.Linear(hidden_size if i else input_size, hidden_size) for i in range(num_layers))

    def forward(self, x: Tensor, lengths: Tensor | None = None, state: Tensor | None = None):
        lengths, state = self.check_inputs(x, lengths, state)  # the contract's shapes, checked by the base class
        batch, steps, _ = x.shape
        real = None if lengths is None else (torch.arange(steps, device=x.device)[None, :]
                                             < lengths.to(x.device)[:, None])
        finals = []
        for i, layer in enumerate(self.layers):
            a = x.new_zeros(batch, self.hidden_size) if state is None else state[i]
            probe = self.new_probe(steps, batch, x) if i == self.num_layers - 1 else None
            outputs = []
            for t in range(steps):
                new = self.leak * a + (1 - self.leak) * torch.tanh(layer(x[:, t]))
                if real is not None:  # padding carries the state and outputs zeros
                    new = torch.where(real[:, t, None], new, a)
                a = new if probe is None else new + probe[t]
                outputs.append(a if real is None else a * real[:, t, None])
            x = torch.stack(outputs, dim=1)
            finals.append(a)
        return x, torch.stack(finals)

    def step(self, x: Tensor, state: Tensor | None = None):
        out, state = self.forward(x[:, None], state=state)
        return out[:, 0], state

    def layer_groups(self) -> list[list[nn.Parameter]]:
        return [list(layer.parameters()) for layer in self.layers]
