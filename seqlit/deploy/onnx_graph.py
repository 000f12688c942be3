"""The ONNX graphs of a model folder (`export --format onnx`): the task's network, and `runtime.json`.

The graph holds the arithmetic (embeddings, recurrent layers, pooling, output layer) over padded ids and
lengths, batch and length dynamic; padding is masked (`Recurrent.masked`), never packed, so each RNN/GRU/LSTM
is one ONNX node per layer and direction. Tokenisation and CRF Viterbi are left to `seqlit.runtime`, which
reads `runtime.json`. The language models and the encoder–decoder are exported as steps carrying the
recurrent state, so generation and beam search run in the runtime token by token (seqlit/deploy/onnx_steps.py).
The exporter is torch's TorchScript one (`dynamo=False`): docs/deploy.md says why.
"""

from __future__ import annotations

import json
import warnings
from contextlib import contextmanager
from pathlib import Path

import torch
from torch import nn

from seqlit.deploy.onnx_steps import ConditionalGraph, DecoderGraph, EncoderGraph, LanguageModelGraph
from seqlit.errors import SeqlitError
from seqlit.nn.recurrent import Recurrent

GRAPH, RUNTIME = "model.onnx", "runtime.json"
OPSET = 17
RUNTIME_VERSION = 1


class TaggerGraph(nn.Module):
    """(input_ids, casing, chars, lengths) -> emissions (B, T, K): the tag scores the CRF or argmax reads."""

    kind, file = "tagger", GRAPH  # what runtime.json calls the task (seqlit/runtime/folder.py reads it), the graph's file
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

    kind, file = "classifier", GRAPH
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


# by `SeqTask.task_name`: the graphs of each task, the first written as runtime.json's `graph`
GRAPHS = {"tagging": (TaggerGraph,), "classification": (ClassifierGraph,), "language_modeling": (LanguageModelGraph,),
          "conditional_lm": (ConditionalGraph,), "translation": (EncoderGraph, DecoderGraph)}


def graphs_of(task) -> list[nn.Module]:
    """The exportable networks of `task`; one line for the tasks and settings that have none yet."""
    name = type(task).__name__
    if getattr(task, "char_lms", None) is not None:
        raise SeqlitError(f"export --format onnx: this {name} reads character-LM features (model.pretrained.char_lms), "
                          "which run on token strings and have no ONNX graph yet: export without --format onnx")
    if getattr(task, "task_name", None) not in GRAPHS:
        raise SeqlitError(f"export --format onnx exports the Tagger, the Classifier, the LanguageModel, the "
                          f"ConditionalLanguageModel and the Seq2Seq, not a {name}: export without --format onnx")
    return [graph(task) for graph in GRAPHS[task.task_name]]


def graph_of(task) -> nn.Module:
    """The first (for most tasks the only) exportable network of `task`."""
    return graphs_of(task)[0]


@contextmanager
def masked(model: nn.Module):
    """Every `Recurrent` in `model` on its masked path (no packed sequences) for the duration."""
    layers = [m for m in model.modules() if isinstance(m, Recurrent)]
    if any(layer.backend != "fused" for layer in layers):
        layers_ = ", ".join(sorted({layer.backend for layer in layers} - {"fused"}))
        raise SeqlitError(f"export --format onnx: the backbone runs backend {layers_!r}, whose time loop has no "
                          "dynamic-length graph: export a model trained with backend: fused (the weights are the same)")
    for layer in layers:
        layer.masked = True
    try:
        yield
    finally:
        for layer in layers:
            layer.masked = False


def runtime_spec(task, data=None) -> dict:
    """runtime.json: the graphs' files, inputs and outputs, the task's kind, and what the runtime does outside
    them: the tagger's CRF scores, the encoder–decoder's decoding settings, the conditional LM's fields, and
    (from `data`, the task's data module) how text is tokenized."""
    graphs = graphs_of(task)
    spec = {"runtime_version": RUNTIME_VERSION, "graph": graphs[0].file, "opset": OPSET, "task": graphs[0].kind,
            "inputs": list(graphs[0].inputs), "outputs": list(graphs[0].outputs)}
    if len(graphs) > 1:
        spec["graphs"] = {g.file.removesuffix(".onnx"): {"file": g.file, "inputs": list(g.inputs), "outputs": list(g.outputs)}
                          for g in graphs}
    crf = getattr(task, "crf", None)
    if crf is not None:
        start, transitions, end = (t.detach().double().tolist() for t in crf._scores())  # BIO constraints applied
        spec["crf"] = {"start": start, "transitions": transitions, "end": end}
    if task.task_name == "translation":
        spec["decoding"] = {"decode": task.decode, "beam_size": task.beam_size, "alpha": float(task.alpha),
                            "max_output_length": task.max_output_length, "bos_id": task.bos_id, "eos_id": task.eos_id}
        if data is not None:
            spec["text"] = {"kind": data.kind, "lowercase": bool(data.lowercase)}
    if task.task_name == "conditional_lm":
        # named as `generate --condition` names them: the data module's (an older checkpoint's one field is
        # called `condition` in its data_spec but after the data's column there)
        fields = (data or task).condition_fields
        spec["condition_fields"] = {field: list(names) for field, names in fields.items()}
        if data is not None:
            spec["text"] = {"level": data.level, "lowercase": bool(data.lowercase)}
    return spec


def write_onnx(task, folder: Path, data=None) -> None:
    """The graphs of `task` (in eval mode; `model.onnx`, or `encoder.onnx` and `decoder.onnx`) and `runtime.json`
    into `folder`; `data`: the task's data module, whose text options the runtime reads."""
    graphs = [g.eval() for g in graphs_of(task)]
    try:
        import onnx  # noqa: F401  (torch.onnx.export needs it)
    except ImportError:
        raise SeqlitError("export --format onnx needs the onnx package: pip install 'seqlit[export]'") from None
    task.eval()
    with masked(task), torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore")  # tracer warnings on the python-side branches, all shape-independent here
        for graph in graphs:
            torch.onnx.export(graph, graph.example(), str(folder / graph.file), dynamo=False, opset_version=OPSET,
                              input_names=list(graph.inputs), output_names=list(graph.outputs),
                              dynamic_axes=graph.axes, do_constant_folding=True)
    (folder / RUNTIME).write_text(json.dumps(runtime_spec(task, data), indent=1) + "\n", encoding="utf-8")
