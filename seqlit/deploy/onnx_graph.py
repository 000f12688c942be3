"""`model.onnx` of a model folder (`export --format onnx`): the task's network as one graph, and `runtime.json`.

The graph holds the arithmetic (embeddings, recurrent layers, pooling, output layer) over padded ids and
lengths, batch and length dynamic; padding is masked (`Recurrent.masked`), never packed, so each RNN/GRU/LSTM
is one ONNX node per layer and direction. Tokenisation and CRF Viterbi are left to `seqlit.runtime`, which
reads `runtime.json`. The exporter is torch's TorchScript one (`dynamo=False`): docs/deploy.md says why.
"""

from __future__ import annotations

import json
import warnings
from contextlib import contextmanager
from pathlib import Path

import torch
from torch import nn

from seqlit.errors import SeqlitError
from seqlit.nn.recurrent import Recurrent

GRAPH, RUNTIME = "model.onnx", "runtime.json"
OPSET = 17
RUNTIME_VERSION = 1


class TaggerGraph(nn.Module):
    """(input_ids, casing, chars, lengths) -> emissions (B, T, K): the tag scores the CRF or argmax reads."""

    kind = "tagger"  # what runtime.json calls the task (seqlit/runtime/folder.py reads it)
    inputs = ("input_ids", "casing", "chars", "lengths")
    outputs = ("emissions",)
    axes = {"input_ids": {0: "batch", 1: "length"}, "casing": {0: "batch", 1: "length"},
            "chars": {0: "batch", 1: "length", 2: "word_length"}, "lengths": {0: "batch"},
            "emissions": {0: "batch", 1: "length"}}

    def __init__(self, task):
        super().__init__()
        self.task = task

    def forward(self, input_ids, casing, chars, lengths):
        return self.task.emissions({"input_ids": input_ids, "casing": casing, "chars": chars, "lengths": lengths})

    @staticmethod
    def example():
        ids = torch.tensor([[2, 3, 4], [5, 6, 0]])
        return ids, torch.tensor([[1, 2, 3], [1, 1, 0]]), torch.tensor([[[2, 3], [3, 0], [4, 0]], [[5, 0], [6, 2], [0, 0]]]), \
            torch.tensor([3, 2])


class ClassifierGraph(nn.Module):
    """(input_ids, lengths) -> log_probs (B, C): the log of the readers' mean class probabilities."""

    kind = "classifier"
    inputs = ("input_ids", "lengths")
    outputs = ("log_probs",)
    axes = {"input_ids": {0: "batch", 1: "length"}, "lengths": {0: "batch"}, "log_probs": {0: "batch"}}

    def __init__(self, task):
        super().__init__()
        self.task = task

    def forward(self, input_ids, lengths):
        return self.task(input_ids, lengths)

    @staticmethod
    def example():
        return torch.tensor([[2, 3, 4], [5, 6, 0]]), torch.tensor([3, 2])


class LanguageModelGraph(nn.Module):
    """(input_ids) -> log_probs (B, T, V) of the next token after each position; rows padded at the end only."""

    kind = "language_model"
    inputs = ("input_ids",)
    outputs = ("log_probs",)
    axes = {"input_ids": {0: "batch", 1: "length"}, "log_probs": {0: "batch", 1: "length"}}

    def __init__(self, task):
        super().__init__()
        self.task = task

    def forward(self, input_ids):
        return self.task.step(input_ids)[0]

    @staticmethod
    def example():
        return (torch.tensor([[2, 3, 4], [5, 6, 0]]),)


GRAPHS = {"tagging": TaggerGraph, "classification": ClassifierGraph, "language_modeling": LanguageModelGraph}  # by `SeqTask.task_name`


def graph_of(task) -> nn.Module:
    """The exportable network of `task`; one line for the tasks and settings that have none yet."""
    name = type(task).__name__
    if getattr(task, "char_lms", None) is not None:
        raise SeqlitError(f"export --format onnx: this {name} reads character-LM features (model.pretrained.char_lms), "
                          "which run on token strings and have no ONNX graph yet: export without --format onnx")
    if getattr(task, "task_name", None) not in GRAPHS:
        raise SeqlitError(f"export --format onnx exports the Tagger, the Classifier and the LanguageModel so far, not a {name}: "
                          "export without --format onnx for a folder that seqlit.deploy.load reads")
    return GRAPHS[task.task_name](task)


@contextmanager
def masked(model: nn.Module):
    """Every `Recurrent` in `model` on its masked path (no packed sequences) for the duration."""
    layers = [m for m in model.modules() if isinstance(m, Recurrent)]
    if any(layer.backend != "fused" for layer in layers):
        layers_ = ", ".join(sorted({layer.backend for layer in layers}))
        raise SeqlitError(f"export --format onnx: the backbone runs backend {layers_!r}, whose time loop has no "
                          "dynamic-length graph: export a model trained with backend: fused (the weights are the same)")
    for layer in layers:
        layer.masked = True
    try:
        yield
    finally:
        for layer in layers:
            layer.masked = False


def runtime_spec(task) -> dict:
    """runtime.json: the graph's inputs and outputs, the task's kind, and (tagger) the CRF's scores."""
    graph = graph_of(task)
    spec = {"runtime_version": RUNTIME_VERSION, "graph": GRAPH, "opset": OPSET, "task": graph.kind,
            "inputs": list(graph.inputs), "outputs": list(graph.outputs)}
    crf = getattr(task, "crf", None)
    if crf is not None:
        start, transitions, end = (t.detach().double().tolist() for t in crf._scores())  # BIO constraints applied
        spec["crf"] = {"start": start, "transitions": transitions, "end": end}
    return spec


def write_onnx(task, folder: Path) -> None:
    """`model.onnx` and `runtime.json` of `task` (in eval mode) into `folder`."""
    graph = graph_of(task).eval()
    try:
        import onnx  # noqa: F401  (torch.onnx.export needs it)
    except ImportError:
        raise SeqlitError("export --format onnx needs the onnx package: pip install 'seqlit[export]'") from None
    task.eval()
    with masked(task), torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore")  # tracer warnings on the python-side branches, all shape-independent here
        torch.onnx.export(graph, graph.example(), str(folder / GRAPH), dynamo=False, opset_version=OPSET,
                          input_names=list(graph.inputs), output_names=list(graph.outputs),
                          dynamic_axes=graph.axes, do_constant_folding=True)
    (folder / RUNTIME).write_text(json.dumps(runtime_spec(task), indent=1) + "\n", encoding="utf-8")
