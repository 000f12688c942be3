"""The backbone contract: what every task asks of the network between its embedding and its output layer.

A task never builds a recurrent layer itself. It receives a *factory* — in a config, a `backbone:` section
that jsonargparse turns into a callable — and calls it with the one size only the task knows, the width of
its input features:

    model:
      init_args:
        backbone:                          # class_path defaults to seqlit.nn.Recurrent
          init_args: {kind: lstm, hidden_size: 200, bidirectional: true}

    backbone = factory(input_size)         # the task links input_size; nobody types it

Any `Backbone` subclass whose first constructor argument is `input_size` plugs into every task by
`class_path` alone. It must provide:

    forward(x, lengths=None, state=None) -> (outputs, final_state)
        x (B, T, input_size), batch first; lengths (B,) real lengths in [1, T] or None (no padding);
        state: an initial state as returned, or None for zeros.
        outputs (B, T, output_size), exactly zero at padded steps; final_state: a tensor (or a tuple of
        tensors) whose dim 1 is the batch, holding each sequence's state after its last real step.
        With `num_directions == 2` the outputs are [forward; backward] and the backward half at step 0
        has read the whole sequence.
    step(x, state=None) -> (output, state)
        One time step for decoders: x (B, input_size), output (B, output_size); unidirectional only.
    check_inputs(x, lengths, state), which `forward` may call first, refuses arguments outside these shapes
    with one ValueError naming the backbone.
    attributes: input_size, hidden_size, num_layers, num_directions, output_size (= num_directions *
        hidden_size), state_parts, and `describe()` -> a dict naming the backbone in records.
    layer_groups() -> its parameters bottom to top, what gradual unfreezing and discriminative learning
        rates step through (`seqlit.transfer.fine_tune`); by default one group.
    new_probe(steps, batch, like) -> None, or zeros to add to the top layer's a<t> while `probe` is set, so that
        `probe_gradients()` returns ∂L/∂a<t> through every later step (`seqlit.callbacks.gradient_flow`).

A state is one tensor (L * D, B, H), row `layer * D + direction`, or a tuple of `state_parts` of them (the
LSTM's (a, c)), the activation a first. Tasks that carry or reorder states across calls (truncated BPTT,
beam search) use `map_state`; an encoder–decoder reads a<T> of the top layer and builds a decoder's first
state from its `state_parts`, `num_layers` and `hidden_size`.
"""

from __future__ import annotations

import importlib
from typing import Any, Callable

import torch
from torch import Tensor, nn

State = Tensor | tuple[Tensor, ...]


class Backbone(nn.Module):
    """Base class of backbones: the attributes of the contract above, set once from `__init__`."""

    def __init__(self, input_size: int, hidden_size: int, num_layers: int = 1, bidirectional: bool = False,
                 state_parts: int = 1):
        super().__init__()
        self.input_size, self.hidden_size, self.num_layers = input_size, hidden_size, num_layers
        self.state_parts = state_parts
        self.bidirectional = bool(bidirectional)
        self.num_directions = 2 if self.bidirectional else 1
        self.output_size = self.num_directions * hidden_size
        self.probe = False

    @property
    def probe(self) -> bool:
        """Set by the gradient-flow callback for one forward and backward; setting it drops earlier probes."""
        return self._probe

    @probe.setter
    def probe(self, on: bool) -> None:
        self._probe, self._probes = bool(on), []

    def forward(self, x: Tensor, lengths: Tensor | None = None, state: State | None = None) -> tuple[Tensor, State]:
        raise NotImplementedError

    def step(self, x: Tensor, state: State | None = None) -> tuple[Tensor, State]:
        raise NotImplementedError

    def check_inputs(self, x: Tensor, lengths=None, state: State | None = None) -> tuple[Tensor | None, State | None]:
        """`forward`'s arguments checked against the contract above: ValueErrors naming the backbone and the
        expected shape, before a kernel fails with its own message. Returns lengths as a tensor, and the state
        (a tuple when `state_parts` > 1)."""
        name = type(self).__name__
        if not isinstance(x, Tensor) or x.dim() != 3 or x.shape[-1] != self.input_size or x.shape[1] < 1:
            got = tuple(x.shape) if isinstance(x, Tensor) else type(x).__name__
            raise ValueError(f"{name}: x must be a (B, T, {self.input_size}) tensor with T >= 1, got {got}")
        batch, steps, _ = x.shape
        if lengths is not None:
            lengths = torch.as_tensor(lengths)
            if lengths.shape != (batch,) or lengths.is_floating_point() or lengths.is_complex():
                raise ValueError(f"{name}: lengths must be {batch} integers (one per sequence), got {lengths!r}")
            if lengths.min() < 1 or lengths.max() > steps:
                raise ValueError(f"{name}: lengths must lie in [1, T={steps}], got {lengths.tolist()}")
        if state is not None:
            shape = (self.num_layers * self.num_directions, batch, self.hidden_size)
            parts = tuple(state) if isinstance(state, tuple | list) else (state,)
            if len(parts) != self.state_parts or not all(isinstance(p, Tensor) and p.shape == shape for p in parts):
                expected = {1: f"a {shape} tensor", 2: f"an (a, c) pair of {shape} tensors"}.get(
                    self.state_parts, f"a tuple of {self.state_parts} {shape} tensors")
                raise ValueError(f"{name}: state must be {expected}")
            state = parts if self.state_parts > 1 else parts[0]
        return lengths, state

    def layer_groups(self) -> list[list[nn.Parameter]]:
        """The parameters by layer, bottom to top: one group unless a backbone names its layers."""
        return [list(self.parameters())]

    def new_probe(self, steps: int, batch: int, like: Tensor, in_time_order: Callable[[Tensor], Tensor] | None = None
                  ) -> Tensor | None:
        """Zeros (T, B, H) to add to the top layer's a<t> of one direction (step t gets row t), or None.

        Made only while `probe` is set and gradients are on. Since a<t> + p<t> feeds both the output and
        step t + 1, ∂L/∂p<t> is the *total* derivative ∂L/∂a<t> through every later step, which a fused
        kernel cannot show. `in_time_order` maps a gradient back to time order (a reversed direction);
        directions are concatenated in the order probed.
        """
        if not (self.probe and torch.is_grad_enabled()):
            return None
        probe = like.new_zeros(steps, batch, self.hidden_size).requires_grad_()
        self._probes.append((probe, in_time_order or (lambda grad: grad)))
        return probe

    def probe_gradients(self) -> Tensor | None:
        """∂L/∂a<t> of the top layer from the last probed forward, (B, T, D*H), after backward; else None."""
        if not self._probes or any(p.grad is None for p, _ in self._probes):
            return None
        return torch.cat([in_time_order(p.grad) for p, in_time_order in self._probes], dim=-1).transpose(0, 1)

    def describe(self) -> dict[str, Any]:
        return {"class": type(self).__name__, "hidden_size": self.hidden_size, "num_layers": self.num_layers,
                "bidirectional": self.bidirectional}

    def label(self, head: str | None = None) -> str:
        """The leaderboard's column for this backbone under the task's `head` ('LeakyAverage-attn')."""
        return type(self).__name__ + (f"-{head}" if head else "")


BackboneFactory = Callable[[int], Backbone]
"""A backbone waiting for its input size (what a `backbone:` config section becomes)."""


def build(factory: BackboneFactory | dict, input_size: int) -> Backbone:
    """The backbone for `input_size`, from a factory or from the plain dict a checkpoint stores.

    Dicts are `{class_path, init_args}` (class_path defaults to `seqlit.nn.Recurrent`) or bare init_args:
    what `save_hyperparameters` keeps, so a model rebuilt from its hyper-parameters needs no config parser.
    """
    if isinstance(factory, dict):
        init_args = factory.get("init_args", factory if "class_path" not in factory else {})
        module, _, name = factory.get("class_path", "seqlit.nn.Recurrent").rpartition(".")
        return getattr(importlib.import_module(module), name)(input_size, **init_args)
    return factory(input_size)


def activation(state: State) -> Tensor:
    """The a<t> part of a state, (L * D, B, H)."""
    return state[0] if isinstance(state, tuple) else state


def map_state(state: State | None, fn: Callable[[Tensor], Tensor]) -> State | None:
    """`fn` applied to every tensor of a state (detach, select batch rows, move …)."""
    if state is None:
        return None
    return tuple(fn(s) for s in state) if isinstance(state, tuple) else fn(state)
