"""Checkpoint reading and writing that is safe to trust.

* Loading uses `torch.load(weights_only=True)`: a checkpoint can hold tensors
  and plain data only, so opening one never runs code from it.
* Saving is atomic: the file is written beside its target and renamed over it,
  so a crash mid-write never leaves a truncated file that looks valid.
* A file that is not a checkpoint gets a one-line `SeqlitError`.
"""

from __future__ import annotations

import os
import pickle
import tempfile
import zipfile
from typing import Any

import torch
from lightning_fabric.utilities.cloud_io import get_filesystem
from pytorch_lightning.plugins.io import TorchCheckpointIO

from seqlit.errors import SeqlitError


def load_checkpoint(path: str | os.PathLike) -> dict[str, Any]:
    """Read a checkpoint with `weights_only=True`, turning every failure into one clear line."""
    path = os.fspath(path)
    if not os.path.isfile(path):
        raise SeqlitError(f"checkpoint {path!r} does not exist: pass the path of a .ckpt file written by `seqlit fit`")
    try:
        ckpt = torch.load(path, map_location="cpu", weights_only=True)
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
    return ckpt


class SafeCheckpointIO(TorchCheckpointIO):
    """Lightning's torch checkpoint IO with atomic saves and safe loads."""

    def save_checkpoint(self, checkpoint: dict[str, Any], path, storage_options=None) -> None:
        path = os.fspath(path)
        fs = get_filesystem(path)
        fs.makedirs(os.path.dirname(path) or ".", exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=".tmp-", suffix=".ckpt", dir=os.path.dirname(path) or ".")
        try:
            with os.fdopen(fd, "wb") as f:
                torch.save(checkpoint, f)
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp, path)
        except BaseException:
            if os.path.exists(tmp):
                os.remove(tmp)
            raise

    def load_checkpoint(self, path, map_location=None, weights_only=None) -> dict[str, Any]:
        return load_checkpoint(path)
