"""The graphs `seqlit.runtime` steps through time: the language models and the encoder–decoder.

Generation and beam search choose each token outside the graph, so these networks are exported as a step
that takes the recurrent state and returns the next one, beside the log-probabilities:

- the language model: (input_ids (B, T), state) -> log_probs (B, T, V), next_state; a zero state is
  torch's `state=None`, so scoring a text feeds zeros and generation feeds back what the last step gave;
- the conditional LM: the same with its `conditions` (B, F), and `fresh` (B,): rows whose state is the
  condition's start (`init`: the bridge; else zeros) instead of the state fed in;
- the encoder–decoder: `encoder.onnx` (source_ids, source_lengths) -> memory, attention keys, the
  decoder's first state; `decoder.onnx` (y (N,), state, memory, mask, keys) -> log_probs (N, V), next state.

A state is `state` (L*D, B, H) and, for an LSTM, `cell`: named inputs and `next_*` outputs, batch axis 1.
"""

from __future__ import annotations

import torch
from torch import nn


def state_names(backbone) -> tuple[str, ...]:
    return ("state", "cell")[: backbone.state_parts]


def parts(state) -> tuple:
    return state if isinstance(state, tuple) else (state,)


def joined(tensors) -> object:
    return tuple(tensors) if len(tensors) > 1 else tensors[0]


def zero_state(backbone, batch: int) -> tuple[torch.Tensor, ...]:
    shape = (backbone.num_layers * backbone.num_directions, batch, backbone.hidden_size)
    return tuple(torch.zeros(shape) for _ in range(backbone.state_parts))


class StepGraph(nn.Module):
    """What the graphs share: named inputs and outputs, their dynamic axes, and an example to trace."""

    file = "model.onnx"

    def __init__(self, task, inputs: dict[str, dict], outputs: dict[str, dict]):
        super().__init__()
        self.task = task
        self.inputs, self.outputs, self.axes = tuple(inputs), tuple(outputs), {**inputs, **outputs}


class LanguageModelGraph(StepGraph):
    """(input_ids, state…) -> log_probs (B, T, V) of the next token after each position, next_state…"""

    kind = "language_model"

    def __init__(self, task):
        names = state_names(task.backbone)
        super().__init__(task, {"input_ids": {0: "batch", 1: "length"}, **{n: {1: "batch"} for n in names}},
                         {"log_probs": {0: "batch", 1: "length"}, **{f"next_{n}": {1: "batch"} for n in names}})

    def forward(self, input_ids, *state):
        log_probs, state = self.task.step(input_ids, joined(state))
        return (log_probs, *parts(state))

    def example(self):
        return (torch.tensor([[2, 3, 4], [5, 6, 0]]), *zero_state(self.task.backbone, 2))


class ConditionalGraph(StepGraph):
    """(input_ids, conditions, fresh, state…) -> log_probs, next_state…: `fresh` rows start from the condition."""

    kind = "conditional_lm"

    def __init__(self, task):
        names = state_names(task.backbone)
        super().__init__(task, {"input_ids": {0: "batch", 1: "length"}, "conditions": {0: "batch"}, "fresh": {0: "batch"},
                                **{n: {1: "batch"} for n in names}},
                         {"log_probs": {0: "batch", 1: "length"}, **{f"next_{n}": {1: "batch"} for n in names}})

    def forward(self, input_ids, conditions, fresh, *state):
        task = self.task
        start = parts(task.bridge(task.condition_vector(conditions))) if task.init else tuple(map(torch.zeros_like, state))
        state = tuple(torch.where(fresh[None, :, None], s0, s) for s0, s in zip(start, state))
        log_probs, state = task.step(input_ids, conditions, joined(state))
        return (log_probs, *parts(state))

    def example(self):
        fields = max(len(self.task.condition_fields), 1)
        return (torch.tensor([[2, 3, 4], [5, 6, 0]]), torch.zeros(2, fields, dtype=torch.long),
                torch.tensor([True, False]), *zero_state(self.task.backbone, 2))


class EncoderGraph(StepGraph):
    """(source_ids, source_lengths) -> memory (B, S, M), keys (B, S, A) with attention, the decoder's first state…"""

    kind, file = "seq2seq", "encoder.onnx"

    def __init__(self, task):
        keys = {"keys": {0: "batch", 1: "source_length"}} if task.attention is not None else {}
        super().__init__(task, {"source_ids": {0: "batch", 1: "source_length"}, "source_lengths": {0: "batch"}},
                         {"memory": {0: "batch", 1: "source_length"}, **keys,
                          **{n: {1: "batch"} for n in state_names(task.decoder)}})

    def forward(self, source_ids, source_lengths):
        memory, _, keys, state = self.task.encode(source_ids, source_lengths)
        return (memory, *(() if keys is None else (keys,)), *parts(state))

    def example(self):
        return torch.tensor([[2, 3, 4], [5, 6, 0]]), torch.tensor([3, 2])


class DecoderGraph(StepGraph):
    """(y (N,), state…, memory, mask, keys) -> log_probs (N, V), next_state…: one decoder step (no attention: no memory)."""

    kind, file = "seq2seq", "decoder.onnx"

    def __init__(self, task):
        names = state_names(task.decoder)
        memory = {} if task.attention is None else {"memory": {0: "batch", 1: "source_length"},
                                                    "mask": {0: "batch", 1: "source_length"},
                                                    "keys": {0: "batch", 1: "source_length"}}
        super().__init__(task, {"y": {0: "batch"}, **{n: {1: "batch"} for n in names}, **memory},
                         {"log_probs": {0: "batch"}, **{f"next_{n}": {1: "batch"} for n in names}})
        self.state_parts = len(names)

    def forward(self, y, *rest):
        state, (memory, mask, keys) = joined(rest[: self.state_parts]), (rest[self.state_parts:] or (None, None, None))
        log_probs, state = self.task.next_log_probs(y, state, memory, mask, keys)
        return (log_probs, *parts(state))

    def example(self):
        task = self.task
        with torch.no_grad():
            memory, mask, keys, state = task.encode(torch.tensor([[2, 3, 4], [5, 6, 0]]), torch.tensor([3, 2]))
        return (torch.tensor([2, 3]), *parts(state), *(() if task.attention is None else (memory, mask, keys)))
