"""What every seqlit data module shares: vocabularies that travel with checkpoints.

Vocabularies and label names are built from the training split the first
time the model needs a size (`data_spec`, linked into the model by the CLI),
and saved inside each checkpoint through `state_dict`. With `vocab_from` set
(the CLI sets it whenever `--ckpt_path` is given) they are read back from a
checkpoint instead, so `test`, `predict` and resumed `fit` use exactly the
vocabulary the weights were trained with, and prediction needs no training data.
"""

from __future__ import annotations

from typing import Any

import pytorch_lightning as pl

from seqlit.checkpoint_io import load_checkpoint
from seqlit.errors import SeqlitError

# the splits each command reads: `check(stage)` reads them all before the trainer writes anything
STAGE_SPLITS = {"fit": ("train", "validation"), "validate": ("validation",), "test": ("test",), "predict": ("predict",)}


class SeqDataModule(pl.LightningDataModule):
    """Base class. Subclasses implement `build_vocab()`, `vocab_state()`, `load_vocab_state()` and `spec()`."""

    def __init__(self, vocab_from: str | None = None):
        super().__init__()
        self.vocab_from = vocab_from
        self._vocab_ready = False

    # -- subclass hooks ----------------------------------------------------
    def build_vocab(self) -> None:
        """Build vocabularies / label names from the training split."""
        raise NotImplementedError

    def vocab_state(self) -> dict[str, Any]:
        """Vocabularies and label names as plain data (lists, dicts, str, int)."""
        raise NotImplementedError

    def load_vocab_state(self, state: dict[str, Any]) -> None:
        raise NotImplementedError

    def spec(self) -> dict[str, Any]:
        """Sizes and names the model needs (vocab size, pad id, label names …): small plain data."""
        raise NotImplementedError

    def read(self, split: str) -> None:
        """Read, check and encode one split (`train`, `validation`, `test`, `predict`), keeping the result.

        Default: nothing (data generated on the fly needs no check). Bad data must raise `SeqlitError` here.
        """

    # -- shared machinery --------------------------------------------------
    def ensure_vocab(self) -> None:
        if self._vocab_ready:
            return
        if self.vocab_from:
            ckpt = load_checkpoint(self.vocab_from)
            key = type(self).__qualname__
            if key not in ckpt:
                found = [k for k, v in ckpt.items() if isinstance(v, dict) and "vocab_format" in v]
                raise SeqlitError(
                    f"checkpoint {self.vocab_from!r} was written by another task ({', '.join(found) or 'unknown data module'}), "
                    f"not {key}: use a checkpoint trained with {key} or the matching config"
                )
            self.load_vocab_state(ckpt[key]["vocab"])
        else:
            self.build_vocab()
        self._vocab_ready = True

    def check(self, stage: str) -> None:
        """Read and check every split that `stage` (fit, validate, test, predict) uses.

        The CLI calls this before the trainer starts, so bad data ends the run before anything
        is written (W&B run, config.yaml, checkpoints, predictions) rather than minutes into it.
        """
        self.ensure_vocab()
        for split in STAGE_SPLITS.get(stage, ()):
            self.read(split)

    @property
    def data_spec(self) -> dict[str, Any]:
        """Linked into the model's `data_spec` argument at instantiation."""
        self.ensure_vocab()
        return self.spec()

    def state_dict(self) -> dict[str, Any]:
        self.ensure_vocab()
        return {"vocab_format": 1, "vocab": self.vocab_state()}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        if self._vocab_ready and state_dict.get("vocab") != self.vocab_state():
            raise SeqlitError(
                "the checkpoint's vocabulary or label set does not match the one built from the data: "
                "resume with the same data, or pass --data.init_args.vocab_from CHECKPOINT"
            )
        self.load_vocab_state(state_dict["vocab"])
        self._vocab_ready = True


def positive(name: str, value: int | float | None, allow_none: bool = False) -> None:
    """Reject zero/negative sizes with a message naming the argument."""
    if value is None and allow_none:
        return
    if value is None or value <= 0:
        section, _, arg = name.rpartition(".")
        fix = f"--{section}.init_args.{arg}" if section else f"--{name}"
        raise SeqlitError(f"{name} must be a positive number, got {value!r}: set {fix} to a value above 0")
