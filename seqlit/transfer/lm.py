"""What a seqlit word language model hands on (ULMFiT-style): its vocabulary, word vectors and backbone weights.

Backbone weights are copied a recurrent unit (one layer and direction) at a time and only whole, so no layer
starts half-trained: an LM's layers fill the forward direction of a bidirectional backbone, and layers whose
input width differs keep their own initialisation. Any other backbone's tensors are copied by name and shape.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass

import torch
from torch import nn

from seqlit.io.checkpoints import load_checkpoint
from seqlit.errors import SeqlitError
from seqlit.transfer.vectors import match

UNIT = re.compile(r"^(?P<prefix>.*?)(?:weight|bias)_(?:ih|hh)_(?P<unit>l\d+(?:_reverse)?)$")


@dataclass
class LanguageModelWeights:
    """What `read_language_model` takes from a checkpoint."""

    path: str
    tokens: list[str]
    embedding: torch.Tensor  # (V, E), row i is tokens[i]
    backbone: dict[str, torch.Tensor]  # the backbone's own state dict (keys without `backbone.`)
    described: str  # the LM's backbone settings, for messages


def read_language_model(path: str | os.PathLike) -> LanguageModelWeights:
    """The vocabulary, embedding and backbone of the seqlit word LM checkpoint at `path`."""
    path = os.fspath(path)
    if not os.path.isfile(path):
        raise SeqlitError(f"model.pretrained.lm {path!r} does not exist: pass the .ckpt of a seqlit language model")
    ckpt = load_checkpoint(path)
    hparams = ckpt.get("hyper_parameters") or {}
    class_path = hparams.get("_class_path", "")
    if class_path and not class_path.endswith("LanguageModel"):
        raise SeqlitError(f"model.pretrained.lm {path!r} is a {class_path} checkpoint, not a language model: "
                          "pass a checkpoint written by `seqlit fit` with seqlit.tasks.LanguageModel")
    state = ckpt["state_dict"]
    if "embedding.weight" not in state:
        raise SeqlitError(f"model.pretrained.lm {path!r} has no plain word embedding ('embedding.weight'; an LM trained "
                          "with adaptive_input has none): pretrain the LM with adaptive_input false")
    tokens = _vocabulary(ckpt, path)
    backbone = {k[len("backbone."):]: v for k, v in state.items() if k.startswith("backbone.")}
    settings = (hparams.get("backbone") or {}).get("init_args", {})
    described = ", ".join(f"{k} {settings[k]}" for k in ("kind", "hidden_size", "num_layers") if k in settings)
    return LanguageModelWeights(path, tokens, state["embedding.weight"], backbone, described or "unknown settings")


def _vocabulary(ckpt: dict, path: str) -> list[str]:
    """The LM's word list, from the entry its data module saved (`{"vocab_format", "vocab": …}`)."""
    entries = [v for v in ckpt.values() if isinstance(v, dict) and "vocab_format" in v]
    vocab = entries[0].get("vocab", {}) if len(entries) == 1 else {}
    level, tokens = vocab.get("level"), (vocab.get("tokens") or {}).get("tokens")
    if level not in (None, "word"):
        raise SeqlitError(f"model.pretrained.lm {path!r} is a {level}-level language model: its rows are not words; "
                          "pretrain with --data.init_args.level word")
    if not isinstance(tokens, list):
        raise SeqlitError(f"model.pretrained.lm {path!r} holds no word vocabulary: pass a checkpoint of "
                          "seqlit.tasks.LanguageModel trained with data_modules.LanguageModelingData")
    return tokens


def embedding_rows(lm: LanguageModelWeights, tokens: list[str], dim: int, skip: set[int]
                   ) -> tuple[dict[int, torch.Tensor], int, int]:
    """The LM's rows for the words of `tokens` it shares (exact, then ignoring case, as for word vectors), and how
    many matched each way; an LM of another width than `dim` is refused."""
    if lm.embedding.size(1) != dim:
        raise SeqlitError(f"model.pretrained.lm {lm.path!r} has {lm.embedding.size(1)}-dimensional word vectors but "
                          f"this model's word embedding has {dim}: set --model.init_args.embedding_dim {lm.embedding.size(1)}")
    exact = {t: i for i, t in enumerate(lm.tokens)}
    lower: dict[str, int] = {}
    for i, t in enumerate(lm.tokens):
        lower.setdefault(t.lower(), i)
    found, n_exact, n_lower = match(tokens, exact, lower, skip)
    return {row: lm.embedding[i] for row, i in found.items()}, n_exact, n_lower


@torch.no_grad()
def copy_backbone(lm: LanguageModelWeights, backbone: nn.Module) -> tuple[list[str], list[str]]:
    """Copy the LM's backbone weights into `backbone` where they fit; returns the units copied and those left."""
    ours = backbone.state_dict()
    units: dict[str, list[str]] = {}
    for key in ours:
        m = UNIT.match(key)
        units.setdefault(m.group("prefix") + m.group("unit") if m else key, []).append(key)
    copied, left = [], []
    for unit, keys in units.items():
        fits = all(k in lm.backbone and lm.backbone[k].shape == ours[k].shape for k in keys)
        (copied if fits else left).append(unit)
        if fits:
            for k in keys:
                ours[k].copy_(lm.backbone[k])
    if not copied:
        raise SeqlitError(f"model.pretrained.lm {lm.path!r}: no weight of the LM's backbone ({lm.described}) fits this "
                          "model's backbone: give model.init_args.backbone the LM's kind and hidden_size")
    return copied, left
