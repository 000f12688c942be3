"""`Recurrent`: one RNN/GRU/LSTM backbone with two interchangeable backends.

`fused` runs torch's `nn.RNN/GRU/LSTM` (cuDNN, ATen): the fast path. `scratch` steps through the cells of
`seqlit.nn.cells`: readable, and the reference the fused path is tested against. Both read the same
parameters (`self.rnn`'s, torch's state-dict keys), so a checkpoint of one backend loads into the other.
Padding never changes a result: padded outputs are zero, final states are each sequence's last real step's,
and the reverse direction starts at each sequence's own end. Masked mode (`masked = True`, set by ONNX export)
(`seqlit.nn.masked`) runs the fused kernels on the padded batch without packed sequences; there an LSTM's final c of a padded row
is NaN, which no exported graph reads. Weight dropout swaps dropped copies of `weight_hh` in for one call, so
every backend runs the same dropped Waa at every step. The scratch loop and the gradient-flow probe: `seqlit.nn.scratch`.
"""

import re
import warnings
from typing import Literal

import torch
import torch.nn.functional as F
from torch import Tensor, nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

from seqlit.nn.backbone import Backbone, State
from seqlit.nn.cells import NONLINEARITIES
from seqlit.nn.masked import masked_forward
from seqlit.nn.scratch import scratch_forward
from seqlit.nn.types import PositiveInt, Rate, check

KINDS = ("rnn", "gru", "lstm")
BACKENDS = ("fused", "scratch")
LAYER = re.compile(r"_l(\d+)(?:_reverse)?$")  # torch's layer suffix on a parameter name


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
        self.masked = False  # padding by masks instead of packing (seqlit.nn.masked): ONNX export

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
        recurrent = self._dropped_recurrent_weights()
        if self.backend == "fused" and not self.probe:
            return self._fused(x, lengths, state, recurrent)
        return scratch_forward(self, x, lengths, state, recurrent)

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

    def layer_groups(self) -> list[list[nn.Parameter]]:
        """One group per stacked layer (both directions), read from torch's names (`_l0`, `_l1_reverse` …)."""
        groups: list[list[nn.Parameter]] = [[] for _ in range(self.num_layers)]
        for name, param in self.rnn.named_parameters():
            groups[int(LAYER.search(name).group(1))].append(param)
        return groups

    def _fused(self, x: Tensor, lengths: Tensor | None, state: State | None,
               recurrent: dict[str, Tensor]) -> tuple[Tensor, State]:
        self._flatten_if_needed()
        if lengths is None:
            return self._call_rnn(recurrent, x, state)
        if self.masked:
            return masked_forward(self, x, lengths, state, recurrent)
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

    def layer_weights(self, layer: int, direction: int, recurrent: dict[str, Tensor]) -> list[Tensor]:
        """[W_ih, W_hh, b_ih, b_hh] of one layer and direction, those in ``recurrent`` standing in for torch's."""
        suffix = f"_l{layer}" + ("_reverse" if direction else "")
        names = [name + suffix for name in ("weight_ih", "weight_hh", "bias_ih", "bias_hh")]
        return [recurrent.get(name, getattr(self.rnn, name)) for name in names]


def _check_choice(name: str, value, allowed: tuple[str, ...]) -> None:
    if value not in allowed:
        choices = ", ".join(repr(a) for a in allowed)
        raise ValueError(f"Recurrent: {name} must be one of {choices}, got {value!r}")
