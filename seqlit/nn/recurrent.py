"""`Recurrent`: one RNN/GRU/LSTM backbone with two interchangeable backends.

`fused` runs torch's `nn.RNN/GRU/LSTM` (cuDNN, ATen): the fast path. `scratch` steps through the cells of
`seqlit.nn.cells`: readable, and the reference the fused path is tested against. Both read the same
parameters (`self.rnn`'s, torch's state-dict keys), so a checkpoint of one backend loads into the other.
Padding never changes a result: padded outputs are zero, final states are each sequence's last real step's,
and the reverse direction starts at each sequence's own end. Masked mode (`masked = True`, set by ONNX export)
runs the fused kernels on the padded batch without packed sequences; there an LSTM's final c of a padded row
is NaN, which no exported graph reads. Weight dropout swaps dropped copies of `weight_hh` in for one call, so
every backend runs the same dropped Waa at every step.
"""

import functools
import warnings
from typing import Literal

import torch
import torch.nn.functional as F
from torch import Tensor, nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

from seqlit.nn.backbone import Backbone, State
from seqlit.nn.cells import NONLINEARITIES, gru_cell, lstm_cell, rnn_cell
from seqlit.nn.types import PositiveInt, Rate, check

KINDS = ("rnn", "gru", "lstm")
BACKENDS = ("fused", "scratch")
COMPILE_CHUNK = 16  # time steps per compiled graph, see `_scan`


class Recurrent(Backbone):
    """Stacked, optionally bidirectional RNN/GRU/LSTM over batch-first input: seqlit's default backbone.

    Args:
        input_size: features per time step of ``x`` (linked by the task, never typed in a config).
        kind: "rnn", "gru" or "lstm".
        hidden_size: H, size of ``a<t>`` (and ``c<t>``) per direction.
        num_layers: stacked layers; layer l+1 reads layer l's outputs.
        bidirectional: add a right-to-left direction; outputs are the two
            directions concatenated (forward first), like torch.
        dropout: dropout on each layer's outputs except the last, like torch
            (so nothing with one layer).
        weight_dropout: DropConnect on each layer's recurrent matrix Waa (torch's ``weight_hh``)
            while training, one mask per forward call (AWD-LSTM; a mask per step would forbid the
            fused kernel).
        backend: "fused" (torch's module) or "scratch" (loop over the cells).
        nonlinearity: "tanh" or "relu"; only for ``kind="rnn"``.
        keep_bias / orthogonal_init: see `init_memory`.
        compile: scratch backend only: run the time loop through ``torch.compile``
            in chunks of ``COMPILE_CHUNK`` steps (shorter sequences run eagerly). Each new dtype,
            hidden size, batch size, with/without ``lengths`` or gradients pays a cold compile of
            minutes on a CPU: ``bench/RESULTS_backends.md``.

    Attributes: those of `Backbone` (num_directions D, output_size D * H, …).
    """

    def __init__(
        self,
        input_size: int,
        kind: Literal["rnn", "gru", "lstm"] = "lstm",
        hidden_size: PositiveInt = 128,
        num_layers: PositiveInt = 1,
        bidirectional: bool = False,
        dropout: Rate = 0.0,
        weight_dropout: Rate = 0.0,
        backend: Literal["fused", "scratch"] = "fused",
        nonlinearity: Literal["tanh", "relu"] = "tanh",
        keep_bias: float = 0.0,
        orthogonal_init: bool = False,
        compile: bool = False,
    ):
        _check_choice("kind", kind, KINDS)
        _check_choice("backend", backend, BACKENDS)
        _check_choice("nonlinearity", nonlinearity, tuple(NONLINEARITIES))
        check("Recurrent", PositiveInt, input_size=input_size, hidden_size=hidden_size, num_layers=num_layers)
        check("Recurrent", Rate, dropout=dropout, weight_dropout=weight_dropout)
        if kind != "rnn" and nonlinearity != "tanh":
            raise ValueError(
                f"Recurrent: nonlinearity applies only to kind='rnn', got {nonlinearity!r} for kind={kind!r}"
            )
        if compile and backend != "scratch":
            raise ValueError(
                "Recurrent: compile=True applies only to backend='scratch' (the fused backend is already compiled code)"
            )
        super().__init__(input_size, hidden_size, num_layers, bidirectional, state_parts=2 if kind == "lstm" else 1)
        self.kind = kind
        self.backend = backend
        # between stacked layers only, as torch does (which warns when there is no second layer)
        self.dropout = float(dropout) if num_layers > 1 else 0.0
        self.weight_dropout = float(weight_dropout)
        self.nonlinearity = nonlinearity
        self.use_compile = bool(compile)  # not `self.compile`: that is nn.Module's method

        module = {"rnn": nn.RNN, "gru": nn.GRU, "lstm": nn.LSTM}[kind]
        extra = {"nonlinearity": nonlinearity} if kind == "rnn" else {}
        self.rnn = module(
            input_size,
            hidden_size,
            num_layers=num_layers,
            bidirectional=self.bidirectional,
            dropout=self.dropout,
            batch_first=True,
            **extra,
        )
        self.init_memory(keep_bias, orthogonal_init)
        # gradient probes (see `probe_gradients`): off unless a callback asks
        self.probe = False
        self.masked = False  # padding by masks instead of packing (see the module's docstring): ONNX export
        self._probes: list[tuple[Tensor, bool, Tensor | None]] = []

    def init_memory(self, keep_bias: float = 0.0, orthogonal_init: bool = False) -> None:
        """Initialisations that help a cell keep information over long spans.

        keep_bias: added to the bias of the gate that keeps the previous state:
            the LSTM's forget gate (Jozefowicz et al. 2015 recommend 1.0), and
            the GRU's torch gate z = 1 - Γu, so that at initialisation
            a<t> ≈ a<t-1> and gradients pass through time nearly unchanged.
            No gate exists in a plain RNN, so it must stay 0 there.
        orthogonal_init: orthogonal recurrent weights (each gate's H×H block), whose
            singular values of 1 neither shrink nor blow up a<t-1> (Saxe et al. 2014).
        """
        if keep_bias and self.kind == "rnn":
            raise ValueError("Recurrent: keep_bias needs a gated cell (gru or lstm); a plain rnn has no gate")
        gate = {"gru": 1, "lstm": 1}.get(self.kind)  # chunk index: GRU [r, z, n], LSTM [i, f, g, o]
        with torch.no_grad():
            for name, param in self.rnn.named_parameters():
                if keep_bias and name.startswith("bias_"):
                    param[gate * self.hidden_size : (gate + 1) * self.hidden_size] += keep_bias / 2
                if orthogonal_init and name.startswith("weight_hh"):
                    for block in param.split(self.hidden_size, dim=0):
                        nn.init.orthogonal_(block)

    def describe(self) -> dict:
        """The backbone as records name it: its kind, backend and shape."""
        return {**super().describe(), "kind": self.kind, "backend": self.backend}

    def label(self, head: str | None = None) -> str:
        """'bilstm-crf', 'grux2-scratch'."""
        name = ("bi" if self.bidirectional else "") + self.kind + (f"x{self.num_layers}" if self.num_layers > 1 else "")
        return name + (f"-{head}" if head else "") + ("-scratch" if self.backend == "scratch" else "")

    def extra_repr(self) -> str:
        return f"backend={self.backend!r}, compile={self.use_compile}"

    def forward(self, x: Tensor, lengths: Tensor | None = None, state: State | None = None) -> tuple[Tensor, State]:
        """Run the whole sequence.

        Args:
            x: (B, T, input_size), batch first.
            lengths: optional (B,) real lengths, each in [1, T]; steps at and
                after a sequence's length are padding.
            state: optional initial state, shaped like the returned final
                state; a<0> = 0 (and c<0> = 0) when omitted.

        Returns:
            ``(outputs, final_state)``: outputs (B, T, D*H), zero at padded
            steps; final state (L*D, B, H), or an ``(a, c)`` pair of those for
            the LSTM, row ``layer * D + direction`` as in torch.
        """
        lengths, state = self.check_inputs(x, lengths, state)
        self._probes = []
        recurrent = self._dropped_recurrent_weights()
        if self.backend == "fused" and not self.probe:
            return self._fused(x, lengths, state, recurrent)
        return self._scratch(x, lengths, state, recurrent)

    def step(self, x: Tensor, state: State | None = None) -> tuple[Tensor, State]:
        """One time step, for decoders: x (B, input_size) -> output (B, H) and the new state.

        The same path as `forward` with T = 1, so both backends (and weight dropout, one
        mask per call) behave as they do over a whole sequence.
        """
        if self.bidirectional:
            raise ValueError("Recurrent: step() runs one direction; a bidirectional backbone cannot decode")
        out, state = self.forward(x.unsqueeze(1), state=state)
        return out[:, 0], state

    def _dropped_recurrent_weights(self) -> dict[str, Tensor]:
        """``{"weight_hh_l0": dropped copy, ...}`` while training with weight dropout, else empty."""
        if not (self.training and self.weight_dropout):
            return {}
        return {name: F.dropout(param, self.weight_dropout) for name, param in self.rnn.named_parameters()
                if name.startswith("weight_hh")}

    def probe_gradients(self) -> Tensor | None:
        """∂L/∂a<t> of the top layer from the last probed forward, as (B, T, D*H), after backward.

        With `probe = True` the forward runs the scratch loop and adds a zero tensor p<t> to each top-layer a<t>; as
        a<t> + p<t> feeds both the output and step t+1, ∂L/∂p<t> is the *total* derivative, which a fused kernel
        cannot expose.
        """
        if not self._probes or any(p.grad is None for p, _, _ in self._probes):
            return None
        grads = [_reverse(p.grad, index) if reverse else p.grad for p, reverse, index in self._probes]
        return torch.cat(grads, dim=-1).transpose(0, 1)

    def _fused(self, x: Tensor, lengths: Tensor | None, state: State | None,
               recurrent: dict[str, Tensor]) -> tuple[Tensor, State]:
        self._flatten_if_needed()
        if lengths is None:
            return self._call_rnn(recurrent, x, state)
        if self.masked:
            return self._masked(x, lengths, state, recurrent)
        packed = pack_padded_sequence(x, lengths.to("cpu", torch.int64), batch_first=True, enforce_sorted=False)
        outputs, final = self._call_rnn(recurrent, packed, state)
        outputs, _ = pad_packed_sequence(outputs, batch_first=True, total_length=x.shape[1])
        return outputs, final

    def _call_rnn(self, recurrent: dict[str, Tensor], *args):
        """torch's module, with the tensors in ``recurrent`` standing in for its parameters of those names."""
        if not recurrent:
            return self.rnn(*args)
        with warnings.catch_warnings():  # cuDNN copies swapped-in weights into its flat buffer: the price of DropConnect
            warnings.filterwarnings("ignore", message="RNN module weights are not part of single contiguous chunk")
            return torch.func.functional_call(self.rnn, recurrent, args)

    def _flatten_if_needed(self) -> None:
        """Re-pack the weights into one buffer for cuDNN, only when they are not.

        Needed after something swaps the parameter tensors (replicas, `load_state_dict(..., assign=True)`); calling it
        unconditionally would re-flatten on every step.
        """
        weights = list(self.rnn.parameters())
        if weights[0].is_cuda and len({w.untyped_storage().data_ptr() for w in weights}) > 1:
            self.rnn.flatten_parameters()

    def _masked(self, x: Tensor, lengths: Tensor, state: State | None,
                recurrent: dict[str, Tensor]) -> tuple[Tensor, State]:
        """The fused kernel, one layer and direction at a time, on the padded batch (see the module's docstring)."""
        batch, steps, _ = x.shape
        lengths = lengths.to(x.device)
        mask = (torch.arange(steps, device=x.device)[:, None] < lengths).unsqueeze(-1)  # (T, B, 1)
        reverse_index = _reverse_index(lengths, steps)
        last = (lengths - 1).view(1, batch, 1).expand(1, batch, self.hidden_size)
        if state is None:
            zeros = x.new_zeros(self.num_layers * self.num_directions, batch, self.hidden_size)
            state = (zeros, zeros) if self.kind == "lstm" else zeros
        initial = state if self.kind == "lstm" else (state,)
        kernel = {"lstm": torch._VF.lstm, "gru": torch._VF.gru, "rnn": getattr(torch._VF, f"rnn_{self.nonlinearity}")}
        layer_input, finals = x.transpose(0, 1), []
        for layer in range(self.num_layers):
            outputs = []
            for direction in range(self.num_directions):
                row = layer * self.num_directions + direction
                seq = _reverse(layer_input, reverse_index) if direction else layer_input
                start = tuple(s[row : row + 1] for s in initial)
                out, *kernel_final = kernel[self.kind](seq, start if self.kind == "lstm" else start[0],
                                                       self._weights(layer, direction, recurrent), True, 1, 0.0,
                                                       False, False, False)
                out = out.masked_fill(~mask, 0.0)
                final = [out.gather(0, last)]  # a after each sequence's last real step
                if self.kind == "lstm":  # c is exposed only after step T: exact for rows that fill the batch
                    full = (lengths == steps).view(1, batch, 1)
                    final.append(torch.where(full, kernel_final[1], torch.full_like(kernel_final[1], float("nan"))))
                outputs.append(_reverse(out, reverse_index) if direction else out)
                finals.append(final)
            layer_input = torch.cat(outputs, dim=-1) if self.num_directions == 2 else outputs[0]
            if self.dropout and layer < self.num_layers - 1:
                layer_input = F.dropout(layer_input, self.dropout, self.training)
        final_state = tuple(torch.cat(parts) for parts in zip(*finals))
        return layer_input.transpose(0, 1), final_state if self.kind == "lstm" else final_state[0]

    def _scratch(self, x: Tensor, lengths: Tensor | None, state: State | None,
                 recurrent: dict[str, Tensor]) -> tuple[Tensor, State]:
        batch, steps, _ = x.shape
        directions = self.num_directions
        if state is None:
            zeros = x.new_zeros(self.num_layers * directions, batch, self.hidden_size)
            state = (zeros, zeros) if self.kind == "lstm" else zeros
        initial = state if self.kind == "lstm" else (state,)

        mask = reverse_index = None
        if lengths is not None:
            lengths = lengths.to(x.device)
            time = torch.arange(steps, device=x.device)[:, None]
            mask = (time < lengths).unsqueeze(-1)  # (T, B, 1): True at real steps
            reverse_index = _reverse_index(lengths, steps)

        layer_input = x.transpose(0, 1)  # time-major (T, B, F): row t is step t
        finals = []
        for layer in range(self.num_layers):
            outputs = []
            for direction in range(directions):
                w_ih, w_hh, b_ih, b_hh = self._weights(layer, direction, recurrent)
                reverse = direction == 1
                seq = _reverse(layer_input, reverse_index) if reverse else layer_input
                start = tuple(s[layer * directions + direction] for s in initial)
                wx = F.linear(seq, w_ih, b_ih)
                probe = None
                if self.probe and layer == self.num_layers - 1 and torch.is_grad_enabled():
                    probe = wx.new_zeros(steps, batch, self.hidden_size).requires_grad_()
                    self._probes.append((probe, reverse, reverse_index))
                out, final = _scan(self.kind, self.nonlinearity, wx, start, w_hh, b_hh, mask,
                                   self.use_compile and probe is None, probe)
                outputs.append(_reverse(out, reverse_index) if reverse else out)
                finals.append(final)
            layer_input = torch.cat(outputs, dim=-1) if directions == 2 else outputs[0]
            if self.dropout and layer < self.num_layers - 1:
                layer_input = F.dropout(layer_input, self.dropout, self.training)

        final_state = tuple(torch.stack(parts) for parts in zip(*finals))
        return layer_input.transpose(0, 1), final_state if self.kind == "lstm" else final_state[0]

    def _weights(self, layer: int, direction: int, recurrent: dict[str, Tensor]) -> list[Tensor]:
        suffix = f"_l{layer}" + ("_reverse" if direction else "")
        names = [name + suffix for name in ("weight_ih", "weight_hh", "bias_ih", "bias_hh")]
        return [recurrent.get(name, getattr(self.rnn, name)) for name in names]


def _scan(kind, nonlinearity, wx, state, w_hh, b_hh, mask, compile: bool,
          probe: Tensor | None = None) -> tuple[Tensor, tuple[Tensor, ...]]:
    """Run one direction of one layer over all T steps; arguments as for `_steps`.

    With `compile`, fixed-size chunks of `COMPILE_CHUNK` steps go through torch.compile (leftovers run eagerly):
    the compile cost stays independent of T and one graph serves every length, layer and direction.
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
    step's a<t> so that its gradient is ∂L/∂a<t> (see `Recurrent.probe_gradients`).
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


def _reverse_index(lengths: Tensor, steps: int) -> Tensor:
    """(T, B) time index that reverses each sequence within its own length.

    Step t of sequence b maps to ``lengths[b] - 1 - t``; padded steps map to
    themselves, so padding stays at the end.  The map is its own inverse.
    """
    time = torch.arange(steps, device=lengths.device)[:, None]
    flipped = lengths - 1 - time
    return torch.where(flipped >= 0, flipped, time)


def _reverse(seq: Tensor, index: Tensor | None) -> Tensor:
    """Reverse time-major ``seq`` (T, B, F) per sequence; whole-T flip without lengths."""
    if index is None:
        return seq.flip(0)
    return seq.gather(0, index.unsqueeze(-1).expand_as(seq))


def _check_choice(name: str, value, allowed: tuple[str, ...]) -> None:
    if value not in allowed:
        choices = ", ".join(repr(a) for a in allowed)
        raise ValueError(f"Recurrent: {name} must be one of {choices}, got {value!r}")
