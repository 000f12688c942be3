"""Reading an exported folder: config.json, vocab.json, runtime.json and the onnxruntime sessions of its graphs
(model.onnx; the encoder–decoder's encoder.onnx and decoder.onnx)."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from .classifier import OnnxClassifier
from .conditional_lm import OnnxConditionalLanguageModel
from .errors import ModelFolderError
from .language_model import OnnxLanguageModel
from .seq2seq import OnnxSeq2Seq
from .tagger import OnnxTagger

RUNTIME_VERSION = 1


def read_json(path: Path) -> Any:
    if not path.is_file():
        raise ModelFolderError(f"model folder {str(path.parent)!r} has no {path.name}: export it with "
                               "`python -m seqlit export --ckpt_path CKPT --out DIR --format onnx`")
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as err:
        raise ModelFolderError(f"{str(path)!r} is not valid JSON (line {err.lineno}, column {err.colno}: {err.msg}): "
                               "export the model folder again") from None
    except (OSError, UnicodeDecodeError) as err:
        raise ModelFolderError(f"{str(path)!r} cannot be read ({err}): export the model folder again") from None


def session(path: Path, threads: int | None = None):
    """An onnxruntime CPU session of `path`; a missing or damaged graph is one line naming it."""
    import onnxruntime as ort

    if not path.is_file():
        raise ModelFolderError(f"model folder {str(path.parent)!r} has no {path.name}: export it with --format onnx")
    options = ort.SessionOptions()
    if threads:
        options.intra_op_num_threads = threads
    try:
        return ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
    except Exception as err:  # onnxruntime raises its own Fail/InvalidGraph/… classes, with no public common base
        raise ModelFolderError(f"{str(path)!r} is truncated or not an ONNX graph ({type(err).__name__}): "
                               "export the model folder again") from None


def load(path: str | os.PathLike, threads: int | None = None):
    """The model a folder holds (`OnnxTagger`, `OnnxClassifier`, `OnnxLanguageModel`, `OnnxSeq2Seq` or
    `OnnxConditionalLanguageModel`), ready for `predict_text` (or `generate`)."""
    folder = Path(path)
    if not folder.is_dir():
        raise ModelFolderError(f"model folder {str(folder)!r} does not exist: pass the folder "
                               "`python -m seqlit export --out DIR --format onnx` wrote")
    spec = read_json(folder / "runtime.json")
    if not isinstance(spec, dict) or spec.get("runtime_version") != RUNTIME_VERSION:
        raise ModelFolderError(f"{str(folder / 'runtime.json')!r} has runtime_version "
                               f"{spec.get('runtime_version') if isinstance(spec, dict) else None!r}; this runtime reads "
                               f"{RUNTIME_VERSION}: export the folder again with this seqlit version")
    kinds = {"tagger": OnnxTagger, "classifier": OnnxClassifier, "language_model": OnnxLanguageModel,
             "seq2seq": OnnxSeq2Seq, "conditional_lm": OnnxConditionalLanguageModel}
    if spec.get("task") not in kinds:
        raise ModelFolderError(f"{str(folder / 'runtime.json')!r} names the task {spec.get('task')!r}; this runtime "
                               f"runs {', '.join(kinds)}")
    config, vocab = read_json(folder / "config.json"), read_json(folder / "vocab.json")
    try:
        graphs = spec.get("graphs")
        sessions = session(folder / spec["graph"], threads) if graphs is None else \
            {name: session(folder / graph["file"], threads) for name, graph in graphs.items()}
        return kinds[spec["task"]](spec, config, vocab["vocab"], sessions)
    except (KeyError, TypeError, ValueError) as err:
        if isinstance(err, ModelFolderError):
            raise
        raise ModelFolderError(f"model folder {str(folder)!r}: config.json, vocab.json or runtime.json lacks what "
                               f"the runtime reads ({type(err).__name__}: {err}): export the folder again") from None
