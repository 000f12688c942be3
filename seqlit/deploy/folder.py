"""Writing and reading a model folder: `model.safetensors`, `config.json`, `vocab.json`, `README.md`.

Flat, so huggingface_hub uploads it as is; no pickles, and config.json's classes are imported only from seqlit's
own packages, so opening anyone's folder runs no code of theirs. Written into a temporary folder beside the
target and renamed into place: an interrupted export leaves no half-written folder.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import tempfile
from pathlib import Path
from typing import Any

from seqlit.errors import SeqlitError

FORMAT, FORMAT_VERSION = "seqlit-model", 1
CONFIG, WEIGHTS, VOCAB, CARD = "config.json", "model.safetensors", "vocab.json", "README.md"
HUB_ID = re.compile(r"^[A-Za-z0-9][\w.-]*/[\w.-]+$")


def folder_config(ckpt: dict[str, Any], ckpt_path: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """(config.json, vocab.json) of checkpoint `ckpt`: today's init arguments of the task and of its data
    module (older layouts upgraded by load_checkpoint), the data spec (sizes, label names), and the data module's vocabulary."""
    from seqlit.io.checkpoints import import_class, stored_init_args, trusted_class_path

    stored, data = ckpt.get("hyper_parameters") or {}, ckpt.get("datamodule_hyper_parameters") or {}
    if "_class_path" not in stored or "_class_path" not in data:
        raise SeqlitError(f"checkpoint {ckpt_path!r} names no task or data module class: export needs a checkpoint "
                          "written by `seqlit fit`")
    import_class(trusted_class_path(stored["_class_path"], ckpt_path))  # a seqlit class, or one line
    data_cls = import_class(trusted_class_path(data["_class_path"], ckpt_path))
    state = ckpt.get(data_cls.__qualname__)
    if not isinstance(state, dict) or "vocab" not in state:
        raise SeqlitError(f"checkpoint {ckpt_path!r} stores no vocabulary for {data_cls.__qualname__}: "
                          "export needs a checkpoint written by `seqlit fit`")
    spec = stored.get("data_spec")
    config = {"format": FORMAT, "format_version": FORMAT_VERSION,
              "task": {"class_path": stored["_class_path"], "init_args": stored_init_args(stored, ckpt_path)},
              "data_spec": None if spec is None else dict(spec),
              "data": {"class_path": data["_class_path"], "init_args": stored_init_args(data, ckpt_path)}}
    return config, dict(state)


def export(ckpt_path: str, out: str | os.PathLike, overwrite: bool = False, onnx: bool = False) -> Path:
    """Write the model folder of checkpoint `ckpt_path` to `out`; an existing non-empty `out` only with `overwrite`.

    `onnx` adds `model.onnx` and `runtime.json`, what the torch-free `seqlit.runtime` reads (onnx_graph.py)."""
    from safetensors.torch import save_file

    from seqlit.io.checkpoints import load_checkpoint
    from seqlit.deploy.card import model_card, results_beside

    out = Path(out)
    if out.exists() and not out.is_dir():
        raise SeqlitError(f"--out {str(out)!r} is a file, not a folder: pass a folder path for the model folder")
    if out.is_dir() and any(out.iterdir()) and not overwrite:
        raise SeqlitError(f"--out {str(out)!r} exists and is not empty: pass another folder, or --overwrite true to replace it")
    ckpt = load_checkpoint(ckpt_path)
    config, vocab = folder_config(ckpt, ckpt_path)
    model = _build(config, Path(ckpt_path))
    model.load_state_dict(ckpt["state_dict"])  # load_checkpoint upgraded older layouts (seqlit/io/upgrades.py)
    texts = {CONFIG: _json(config, CONFIG), VOCAB: _json(vocab, VOCAB),
             CARD: model_card(config, results_beside(ckpt_path), ckpt_path)}
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".tmp-{out.name}-", dir=out.parent))
    try:
        for name, text in texts.items():
            (tmp / name).write_text(text, encoding="utf-8")
        # clones: tied weights (a language model's tied embedding) share storage, which safetensors refuses
        save_file({k: v.detach().clone().contiguous() for k, v in model.state_dict().items()}, str(tmp / WEIGHTS),
                  metadata={"format": "pt"})
        if onnx:
            from seqlit.deploy.onnx_graph import write_onnx

            write_onnx(model, tmp, _data_module(config, vocab, tmp))
        _replace(tmp, out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return out


def _replace(tmp: Path, out: Path) -> None:
    """Rename the finished folder `tmp` to `out`, the old `out` (if any) moved aside first and removed after."""
    old = None
    if out.exists():
        old = out.with_name(f".old-{out.name}-{os.getpid()}")
        os.rename(out, old)
    os.rename(tmp, out)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


def _json(value: Any, name: str) -> str:
    try:
        return json.dumps(value, indent=1, ensure_ascii=False, allow_nan=False) + "\n"
    except (TypeError, ValueError) as err:
        raise SeqlitError(f"{name}: the checkpoint holds a value that is not plain JSON data ({err}): "
                          "export needs a checkpoint written by `seqlit fit`") from None


def _read_json(path: Path) -> Any:
    if not path.is_file():
        raise SeqlitError(f"model folder {str(path.parent)!r} has no {path.name}: export it again with "
                          "`python -m seqlit export --ckpt_path CKPT --out DIR`")
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as err:
        raise SeqlitError(f"{str(path)!r} is not valid JSON (line {err.lineno}, column {err.colno}: {err.msg}): "
                          "export the model folder again") from None
    except (OSError, UnicodeDecodeError) as err:
        raise SeqlitError(f"{str(path)!r} cannot be read ({err}): export the model folder again") from None


def _build(config: dict[str, Any], where: Path):
    """The task config.json describes, with untrained weights."""
    from seqlit.io.checkpoints import TRUSTED_PACKAGES, import_class

    try:
        class_path, init_args = config["task"]["class_path"], dict(config["task"]["init_args"])
        spec = config["data_spec"]
    except (KeyError, TypeError) as err:
        raise SeqlitError(f"{str(where)!r} lacks the key {err} (task.class_path, task.init_args, data_spec): "
                          "export the model folder again") from None
    if not isinstance(class_path, str) or not class_path.startswith(TRUSTED_PACKAGES):
        raise SeqlitError(f"{str(where)!r} names the class {class_path!r}, outside seqlit and data_modules: "
                          "seqlit imports no other module a model folder names, because importing runs code")
    try:
        return import_class(class_path)(data_spec=spec, **init_args)
    except (TypeError, ValueError, KeyError, AttributeError, ImportError) as err:
        raise SeqlitError(f"{str(where)!r} does not describe a {class_path.rpartition('.')[2]} this seqlit builds "
                          f"({type(err).__name__}: {err}): export the model folder again with this version") from None


def _data_module(config: dict[str, Any], vocab: Any, folder: Path):
    from seqlit.io.checkpoints import TRUSTED_PACKAGES, import_class

    data = config.get("data")
    if not isinstance(data, dict) or not str(data.get("class_path", "")).startswith(TRUSTED_PACKAGES):
        raise SeqlitError(f"{str(folder / CONFIG)!r}: data.class_path is missing or outside seqlit and data_modules: "
                          "export the model folder again")
    try:
        dm = import_class(data["class_path"])(**dict(data.get("init_args") or {}))
        dm.load_state_dict(vocab)
    except (TypeError, ValueError, KeyError, AttributeError, ImportError) as err:
        raise SeqlitError(f"{str(folder / VOCAB)!r} (or config.json's data section) does not hold the vocabulary "
                          f"this data module reads ({type(err).__name__}: {err}): export the model folder again") from None
    return dm


def _weights(path: Path) -> dict:
    from safetensors import SafetensorError
    from safetensors.torch import load_file

    if not path.is_file():
        raise SeqlitError(f"model folder {str(path.parent)!r} has no {path.name}: export it again")
    try:
        return load_file(str(path))
    except (SafetensorError, OSError, ValueError, RuntimeError) as err:
        raise SeqlitError(f"{str(path)!r} is truncated or not a safetensors file ({err}): export the model folder again") from None


def resolve(path: str | os.PathLike) -> Path:
    """The local folder `path` names; a hub id (`owner/name`) that is no local path is downloaded, when online."""
    local = Path(path)
    if local.exists():
        if not local.is_dir():
            raise SeqlitError(f"{str(local)!r} is a file: pass the model folder `python -m seqlit export` wrote")
        return local
    text = os.fspath(path)
    if not HUB_ID.match(text):
        raise SeqlitError(f"model folder {text!r} does not exist: pass the folder `python -m seqlit export --out DIR` wrote")
    from seqlit.io.hub_online import hub_unreachable

    offline = os.environ.get("HF_HUB_OFFLINE") == "1" or os.environ.get("HF_DATASETS_OFFLINE") == "1"
    why = "HF_HUB_OFFLINE=1 is set" if offline else hub_unreachable()
    if why is not None:
        raise SeqlitError(f"model folder {text!r} is not a local folder, and the Hugging Face hub cannot be asked for it "
                          f"({why}): pass a local folder, or go online")
    from huggingface_hub import snapshot_download

    try:
        return Path(snapshot_download(repo_id=text))
    except Exception as err:  # huggingface_hub's errors (not found, gated, network) have no common base class
        raise SeqlitError(f"model {text!r} could not be downloaded from the hub ({type(err).__name__}: "
                          f"{' '.join(str(err).split())[:200]})") from None


def load(path: str | os.PathLike, expected: type | None = None):
    """The task a model folder holds, in eval mode, with its vocabulary for `predict_text`; no pickle is read.

    `expected` (a task class, as `Task.from_pretrained` passes) refuses a folder of another task in one line.
    """
    folder = resolve(path)
    config = _read_json(folder / CONFIG)
    if not isinstance(config, dict) or config.get("format") != FORMAT:
        raise SeqlitError(f"{str(folder / CONFIG)!r} is not a seqlit model folder's config (no \"format\": \"{FORMAT}\"): "
                          "pass a folder written by `python -m seqlit export`")
    if config.get("format_version") != FORMAT_VERSION:
        raise SeqlitError(f"{str(folder / CONFIG)!r} has format_version {config.get('format_version')!r}; this seqlit "
                          f"reads {FORMAT_VERSION}: use the seqlit version that exported it")
    model = _build(config, folder / CONFIG)
    if expected is not None and not isinstance(model, expected):
        raise SeqlitError(f"model folder {str(folder)!r} holds a {type(model).__name__}: use "
                          f"{type(model).__name__}.from_pretrained or seqlit.deploy.load")
    weights, ours = _weights(folder / WEIGHTS), model.state_dict()
    missing, unexpected = sorted(set(ours) - set(weights)), sorted(set(weights) - set(ours))
    if missing or unexpected:
        raise SeqlitError(f"{str(folder / WEIGHTS)!r} does not fit the {type(model).__name__} of config.json: it lacks "
                          f"{missing[:3]} and has {unexpected[:3]}: export the model folder again")
    for key, tensor in ours.items():
        if tuple(weights[key].shape) != tuple(tensor.shape):
            raise SeqlitError(f"{str(folder / WEIGHTS)!r} does not fit config.json: {key} is {list(weights[key].shape)} "
                              f"there but {list(tensor.shape)} for the model config.json describes: export the folder again")
    model.load_state_dict(weights)
    model._checkpoint_data = _data_module(config, _read_json(folder / VOCAB), folder)
    return model.eval()
