"""The scratch backend: each layer and direction stepped through time with the cells of `seqlit.nn.cells`.

Readable and hackable, the reference the fused path is tested against, and the one path that can show
∂L/∂a<t> at every step (`Backbone.new_probe`). Padding (``mask`` False) carries the state through unchanged
and outputs zeros; with ``compile`` the time loop runs through torch.compile in fixed-size chunks.
"""

from __future__ import annotations

import functools

import torch
import torch.nn.functional as F
from torch import Tensor

from seqlit.nn.backbone import State
from seqlit.nn.cells import gru_cell, lstm_cell, rnn_cell
from seqlit.nn.reverse import reverse, reversal_index

COMPILE_CHUNK = 16  # time steps per compiled graph, see `_scan`


def scratch_forward(net, x: Tensor, lengths: Tensor | None, state: State | None,
                    recurrent: dict[str, Tensor]) -> tuple[Tensor, State]:
    """`net` (a `Recurrent`) over the batch, one cell step at a time; its top layer probed when `net.probe`."""
    batch, steps, _ = x.shape
    directions = net.num_directions
    if state is None:
        zeros = x.new_zeros(net.num_layers * directions, batch, net.hidden_size)
        state = (zeros, zeros) if net.kind == "lstm" else zeros
    initial = state if net.kind == "lstm" else (state,)

    mask = index = None
    if lengths is not None:
        lengths = lengths.to(x.device)
        time = torch.arange(steps, device=x.device)[:, None]
        mask = (time < lengths).unsqueeze(-1)  # (T, B, 1): True at real steps
        index = reversal_index(lengths, steps)

    layer_input = x.transpose(0, 1)  # time-major (T, B, F): row t is step t
    finals = []
    for layer in range(net.num_layers):
        outputs = []
        for direction in range(directions):
            w_ih, w_hh, b_ih, b_hh = net.layer_weights(layer, direction, recurrent)
            seq = reverse(layer_input, index) if direction else layer_input
            start = tuple(s[layer * directions + direction] for s in initial)
            wx = F.linear(seq, w_ih, b_ih)
            probe = None
            if layer == net.num_layers - 1:
                probe = net.new_probe(steps, batch, wx, functools.partial(reverse, index=index) if direction else None)
            out, final = _scan(net.kind, net.nonlinearity, wx, start, w_hh, b_hh, mask,
                               net.use_compile and probe is None, probe)
            outputs.append(reverse(out, index) if direction else out)
            finals.append(final)
        layer_input = torch.cat(outputs, dim=-1) if directions == 2 else outputs[0]
        if net.dropout and layer < net.num_layers - 1:
            layer_input = F.dropout(layer_input, net.dropout, net.training)

    final_state = tuple(torch.stack(parts) for parts in zip(*finals))
    return layer_input.transpose(0, 1), final_state if net.kind == "lstm" else final_state[0]


def _scan(kind, nonlinearity, wx, state, w_hh, b_hh, mask, compile: bool,
          probe: Tensor | None = None) -> tuple[Tensor, tuple[Tensor, ...]]:
    """Run one direction of one layer over all T steps; arguments as for `_steps`.

    With ``compile`` the steps go through torch.compile in chunks of
    ``COMPILE_CHUNK`` steps and the leftover steps run eagerly.  Compiling a
    fixed-size chunk rather than the whole loop keeps the compile cost (which
    grows faster than linearly with the unrolled length) independent of T, and
    lets one compiled graph serve every sequence length, every layer and both
    directions.
    """
    if not compile:
        return _steps(kind, nonlinearity, wx, state, w_hh, b_hh, mask, probe)
    outputs = []
    for start in range(0, wx.shape[0], COMPILE_CHUNK):
        stop = start + COMPILE_CHUNK
        steps = _compiled_steps() if stop <= wx.shape[0] else _steps
        chunk_mask = None if mask is None else mask[start:stop]
        out, state = steps(kind, nonlinearity, wx[start:stop], state, w_hh, b_hh, chunk_mask)
        outputs.append(out)
    return torch.cat(outputs), state


def _steps(
    kind: str,
    nonlinearity: str,
    wx: Tensor,
    state: tuple[Tensor, ...],
    w_hh: Tensor,
    b_hh: Tensor,
    mask: Tensor | None,
    probe: Tensor | None = None,
) -> tuple[Tensor, tuple[Tensor, ...]]:
    """Step the cell over every row of ``wx``.

    ``wx`` (T, B, G*H) holds every step's input term; ``state`` is ``(a,)`` or
    ``(a, c)``.  Where ``mask`` (T, B, 1) is False the step is padding: the
    state is carried through unchanged, so the final state is that of the last
    real step, and the output there is zeroed.  Returns outputs (T, B, H) and
    the final state tuple. ``probe`` (T, B, H), zeros, is added to each
    step's a<t> so that its gradient is ∂L/∂a<t> (see `Backbone.new_probe`).
    """
    outputs = []
    for t in range(wx.shape[0]):
        if kind == "lstm":
            new = lstm_cell(wx[t], *state, w_hh, b_hh)
        elif kind == "gru":
            new = (gru_cell(wx[t], state[0], w_hh, b_hh),)
        else:
            new = (rnn_cell(wx[t], state[0], w_hh, b_hh, nonlinearity),)
        if mask is not None:
            new = tuple(torch.where(mask[t], n, old) for n, old in zip(new, state))
        state = new if probe is None else (new[0] + probe[t], *new[1:])
        outputs.append(state[0])
    outputs = torch.stack(outputs)
    if mask is not None:
        outputs = outputs.masked_fill(~mask, 0.0)
    return outputs, state


@functools.cache
def _compiled_steps():
    """``_steps`` through torch.compile, built once and shared by all modules."""
    return torch.compile(_steps, fullgraph=True)
