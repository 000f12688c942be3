"""Checkpoint reading and writing that is safe to trust.

Loading uses `torch.load(weights_only=True)`, so opening a checkpoint never runs code from it; the class paths
it names are imported only from seqlit's own packages and those named in SEQLIT_TRUSTED_PACKAGES (`trusted_class_path`: importing a module runs its code).
Saving is atomic (`seqlit.io.storage`), paths may be fsspec URLs, and a file that is not a checkpoint is one line.
"""

from __future__ import annotations

import importlib
import os
import pickle
import zipfile
from typing import Any

import torch
from lightning_fabric.utilities.cloud_io import get_filesystem
from pytorch_lightning.plugins.io import TorchCheckpointIO

from seqlit.errors import SeqlitError
from seqlit.io.storage import local_path, tried, write_atomically
from seqlit.io.upgrades import upgrade

TRUSTED_PACKAGES = ("seqlit.", "data_modules.")
TRUST_ENV = "SEQLIT_TRUSTED_PACKAGES"  # more packages whose classes a checkpoint may name, comma-separated


def trusted_packages() -> tuple[str, ...]:
    """seqlit's own packages, and those the user names in SEQLIT_TRUSTED_PACKAGES (a task of their own)."""
    extra = [p.strip().rstrip(".") + "." for p in os.environ.get(TRUST_ENV, "").split(",") if p.strip()]
    return TRUSTED_PACKAGES + tuple(extra)
UPGRADED = "seqlit_upgraded"  # set on a checkpoint once `upgrade_unnamed` has run on it


def trusted_class_path(class_path: object, path: str | os.PathLike) -> str:
    """`class_path` as read from checkpoint `path`, refused unless it lies in seqlit's own packages."""
    trusted = trusted_packages()
    if not isinstance(class_path, str) or not class_path.startswith(trusted):
        raise SeqlitError(
            f"checkpoint {os.fspath(path)!r} names the class {class_path!r}, outside {', '.join(p[:-1] for p in trusted)}: "
            "seqlit imports no other module a checkpoint names, because importing runs code; use a checkpoint written by "
            f"seqlit (a task of your own: name its package in {TRUST_ENV})"
        )
    return class_path


def stored_init_args(stored: dict[str, Any], path: str | os.PathLike) -> dict[str, Any]:
    """A class's init arguments as checkpoint `path` stores them; every class they name (a `backbone:`
    section's `class_path` …) must be seqlit's own, like the class itself."""
    trusted_class_path(stored["_class_path"], path)
    init_args = {k: v for k, v in stored.items() if not k.startswith("_") and k != "data_spec"}

    def check(value):
        if isinstance(value, dict):
            if "class_path" in value:
                trusted_class_path(value["class_path"], path)
            for v in value.values():
                check(v)
        elif isinstance(value, list):
            for v in value:
                check(v)

    check(init_args)
    return init_args


def stored_config(ckpt: dict[str, Any], path: str | os.PathLike) -> dict[str, Any]:
    """The `model:` and `data:` sections (`class_path`, `init_args`) checkpoint `path` stores, in today's layout:
    what the CLI puts before the command line's own config, and what `model_from_checkpoint` builds."""
    config = {}
    for key, stored in (("model", ckpt.get("hyper_parameters")), ("data", ckpt.get("datamodule_hyper_parameters"))):
        if stored and "_class_path" in stored:
            config[key] = {"class_path": trusted_class_path(stored["_class_path"], path),
                           "init_args": stored_init_args(stored, path)}
    return config


def model_from_checkpoint(path: str | os.PathLike, task: type | None = None, strict: bool = True,
                          ckpt: dict[str, Any] | None = None, **overrides):
    """The task checkpoint `path` holds, with its weights and its data module (vocabulary, tokenizer): the one
    way seqlit turns a checkpoint into a model in Python (`Task.load_from_checkpoint`, `generate`).

    Read with `weights_only=True` and upgraded from older layouts (`load_checkpoint`); `task`, when given, is the
    class the caller expects: another task's checkpoint is one line naming the task that wrote it, instead of a
    TypeError about init arguments the caller's task does not take. `overrides` replace stored init arguments;
    `ckpt`: the checkpoint at `path` when the caller has read it already.
    """
    ckpt = load_checkpoint(path) if ckpt is None else ckpt
    stored = ckpt.get("hyper_parameters") or {}
    section = stored_config(ckpt, path).get("model")
    if section is None and task is None:
        raise SeqlitError(f"checkpoint {os.fspath(path)!r} names no model class: load it with its task's "
                          "load_from_checkpoint (e.g. seqlit.tasks.Tagger.load_from_checkpoint)")
    if section is None and task is not None:
        stored = upgrade_unnamed(ckpt, task.__name__).get("hyper_parameters") or {}
    cls = task if section is None else import_class(section["class_path"])
    if task is not None and not (isinstance(cls, type) and issubclass(cls, task)):
        name = section["class_path"].rpartition(".")[2]
        raise SeqlitError(f"checkpoint {os.fspath(path)!r} was written by another task ({name}): "
                          f"use {name}.load_from_checkpoint")
    init_args = section["init_args"] if section else {k: v for k, v in stored.items() if k != "data_spec"}
    model = cls(**{"data_spec": stored.get("data_spec"), **init_args, **overrides})
    model.on_load_checkpoint(ckpt)
    model.load_state_dict(ckpt["state_dict"], strict=strict)
    model._checkpoint_data = data_module_from_checkpoint(ckpt, path)
    return model


def data_module_from_checkpoint(ckpt: dict[str, Any], path: str | os.PathLike):
    """The data module checkpoint `path` was trained with, its vocabulary and tokenizer read from the checkpoint
    (no data file is read); None when the checkpoint stores no data module."""
    stored = ckpt.get("datamodule_hyper_parameters") or {}
    if "_class_path" not in stored:
        return None
    cls = import_class(trusted_class_path(stored["_class_path"], path))
    state = ckpt.get(cls.__qualname__)
    if not isinstance(state, dict) or "vocab" not in state:
        return None
    dm = cls(**stored_init_args(stored, path))
    dm.load_state_dict(state)
    return dm


def import_class(class_path: str):
    module, _, name = class_path.rpartition(".")
    return getattr(importlib.import_module(module), name)


def load_checkpoint(path: str | os.PathLike) -> dict[str, Any]:
    """Read a checkpoint with `weights_only=True`, turning every failure into one clear line; a checkpoint of an
    older layout comes back in today's (`seqlit.io.upgrades`)."""
    path = os.fspath(path)
    fs, local = get_filesystem(path), local_path(path)
    if not (os.path.isfile(local) if local is not None else fs.isfile(path)):
        where = f" ({tried(path if '://' not in path else local, in_configs=False)})" if local is not None else ""
        raise SeqlitError(f"checkpoint {path!r} does not exist{where}: pass the path of a .ckpt file written by `seqlit fit`")
    try:
        if local is not None:
            ckpt = torch.load(local, map_location="cpu", weights_only=True)
        else:
            with fs.open(path, "rb") as f:
                ckpt = torch.load(f, map_location="cpu", weights_only=True)
    except (RuntimeError, EOFError, zipfile.BadZipFile, pickle.UnpicklingError, ValueError) as err:
        if "GLOBAL" in str(err) or "Unsupported global" in str(err):
            raise SeqlitError(
                f"checkpoint {path!r} holds Python objects, not plain data; it is refused because loading it "
                "could run code: re-save its state_dict with plain values, or use a checkpoint written by seqlit"
            ) from err
        raise SeqlitError(
            f"checkpoint {path!r} is corrupt, truncated or not a plain-data checkpoint: "
            "use another checkpoint, e.g. the run's last.ckpt"
        ) from err
    if not isinstance(ckpt, dict) or "state_dict" not in ckpt:
        raise SeqlitError(f"checkpoint {path!r} is not a Lightning checkpoint (no 'state_dict'); pass a .ckpt written by `seqlit fit`")
    return upgrade(ckpt)


class SafeCheckpointIO(TorchCheckpointIO):
    """Lightning's torch checkpoint IO with atomic saves and safe loads."""

    def save_checkpoint(self, checkpoint: dict[str, Any], path, storage_options=None) -> None:
        write_atomically(path, lambda f: torch.save(checkpoint, f))

    def load_checkpoint(self, path, map_location=None, weights_only=None) -> dict[str, Any]:
        return load_checkpoint(path)


def upgrade_unnamed(ckpt: dict[str, Any], task: str) -> dict[str, Any]:
    """A checkpoint that names no task class (saved outside the CLI) upgraded as task `task`'s, once (in place):
    `load_checkpoint` upgrades only the checkpoints that say which task wrote them."""
    if "_class_path" not in (ckpt.get("hyper_parameters") or {}) and not ckpt.get(UPGRADED):
        upgrade(ckpt, task)
        ckpt[UPGRADED] = True
    return ckpt


def check_fits(ckpt: dict[str, Any], path: str, model: torch.nn.Module, datamodule=None) -> None:
    """Refuse, in one line, a checkpoint whose weights do not fit `model` or whose vocabulary is not `datamodule`'s.

    Run before training or evaluation starts, so a mismatch ends the run before anything is written, instead of
    deep inside `load_state_dict`.
    """
    theirs, ours = upgrade_unnamed(ckpt, type(model).__name__)["state_dict"], model.state_dict()
    if getattr(model, "strict_loading", True):
        missing, unexpected = [k for k in ours if k not in theirs], [k for k in theirs if k not in ours]
        if missing or unexpected:
            raise SeqlitError(
                f"checkpoint {path!r} does not fit {type(model).__name__}: it lacks {missing[:3]} and has "
                f"{unexpected[:3]}; it was written by another model or task: pass the config it was trained with"
            )
    for key, tensor in ours.items():
        if key in theirs and tuple(theirs[key].shape) != tuple(tensor.shape):
            raise SeqlitError(
                f"checkpoint {path!r} does not fit the model: {key} is {list(theirs[key].shape)} there but "
                f"{list(tensor.shape)} here; a size (vocabulary, hidden_size …) differs from the run that wrote it: "
                "drop the overrides that change it, or train a new model without --ckpt_path"
            )
    if datamodule is not None and getattr(datamodule, "vocab_from", None) != path:
        stored = ckpt.get(type(datamodule).__qualname__)
        if isinstance(stored, dict) and "vocab" in stored and stored["vocab"] != datamodule.vocab_state():
            raise SeqlitError(
                f"the vocabulary or label set of checkpoint {path!r} does not match the one built from the data: "
                "resume with the same data, or pass --data.init_args.vocab_from CHECKPOINT"
            )
