"""`Recurrent.masked`: padding by masks instead of packed sequences, what ONNX export runs (seqlit/deploy/onnx_graph.py).

The fused kernels run on the padded batch, one call per layer and direction, with no packed sequence anywhere:
the reverse direction reads each sequence reversed within its own length (a gather), padded outputs are zeroed
by the mask and the final activation a is read at each sequence's last real step. The kernel does not expose an
LSTM's memory cell at an earlier step, so the final c of a padded row is NaN there (exact where a row fills the
batch); no exported graph reads it.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor

from seqlit.nn.backbone import State
from seqlit.nn.reverse import reverse, reversal_index


def masked_forward(net, x: Tensor, lengths: Tensor, state: State | None,
                   recurrent: dict[str, Tensor]) -> tuple[Tensor, State]:
    """`net` (a `Recurrent`) over a padded batch, one fused kernel call per layer and direction."""
    batch, steps, _ = x.shape
    lengths = lengths.to(x.device)
    mask = (torch.arange(steps, device=x.device)[:, None] < lengths).unsqueeze(-1)  # (T, B, 1)
    index = reversal_index(lengths, steps)
    last = (lengths - 1).view(1, batch, 1).expand(1, batch, net.hidden_size)
    if state is None:
        zeros = x.new_zeros(net.num_layers * net.num_directions, batch, net.hidden_size)
        state = (zeros, zeros) if net.kind == "lstm" else zeros
    initial = state if net.kind == "lstm" else (state,)
    kernel = {"lstm": torch._VF.lstm, "gru": torch._VF.gru, "rnn": getattr(torch._VF, f"rnn_{net.nonlinearity}")}
    layer_input, finals = x.transpose(0, 1), []
    for layer in range(net.num_layers):
        outputs = []
        for direction in range(net.num_directions):
            row = layer * net.num_directions + direction
            seq = reverse(layer_input, index) if direction else layer_input
            start = tuple(s[row : row + 1] for s in initial)
            out, *kernel_final = kernel[net.kind](seq, start if net.kind == "lstm" else start[0],
                                                  net.layer_weights(layer, direction, recurrent), True, 1, 0.0,
                                                  False, False, False)
            out = out.masked_fill(~mask, 0.0)
            final = [out.gather(0, last)]  # a after each sequence's last real step
            if net.kind == "lstm":  # c is exposed only after step T: exact for rows that fill the batch
                full = (lengths == steps).view(1, batch, 1)
                final.append(torch.where(full, kernel_final[1], torch.full_like(kernel_final[1], float("nan"))))
            outputs.append(reverse(out, index) if direction else out)
            finals.append(final)
        layer_input = torch.cat(outputs, dim=-1) if net.num_directions == 2 else outputs[0]
        if net.dropout and layer < net.num_layers - 1:
            layer_input = F.dropout(layer_input, net.dropout, net.training)
    final_state = tuple(torch.cat(parts) for parts in zip(*finals))
    return layer_input.transpose(0, 1), final_state if net.kind == "lstm" else final_state[0]
