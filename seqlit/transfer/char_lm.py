"""Contextual string features from seqlit character language models (Flair-style, Akbik et al., 2018).

A forward LM's state after a word's last character has read the word and its left context; a backward LM's
state after the word's first character, the word and its right context. Concatenated per word, they join the
task's word features (`pretrained.char_lms`, docs/transfer.md). What each LM is (`read_spec`) is kept in the
task's hyper-parameters in place of the path, so a task checkpoint rebuilds the LMs without the LM files.
Frozen by default: then the LMs stay in eval mode and run without building a graph.
"""

from __future__ import annotations

import os

import torch
from torch import Tensor, nn

from seqlit.io.checkpoints import load_checkpoint
from seqlit.errors import SeqlitError
from seqlit.nn.backbone import build

START, SEPARATOR, END = "\n", " ", " "


def _vocabulary(ckpt: dict, path: str) -> dict:
    entries = [v["vocab"] for v in ckpt.values() if isinstance(v, dict) and "vocab_format" in v]
    vocab = entries[0] if len(entries) == 1 else {}
    if vocab.get("level") != "char":
        raise SeqlitError(f"model.pretrained.char_lms: {path!r} is not a character-level seqlit language model "
                          f"(level {vocab.get('level')!r}): pretrain one with --data.init_args.level char")
    return vocab


def read_spec(path: str | os.PathLike) -> dict:
    """What the char LM checkpoint at `path` is: enough to rebuild it without the file."""
    path = os.fspath(path)
    if not os.path.isfile(path):
        raise SeqlitError(f"model.pretrained.char_lms: {path!r} does not exist: pass the .ckpt of a seqlit "
                          "character language model")
    ckpt = load_checkpoint(path)
    hparams = ckpt.get("hyper_parameters") or {}
    if not str(hparams.get("_class_path", "")).endswith("LanguageModel"):
        raise SeqlitError(f"model.pretrained.char_lms: {path!r} is a {hparams.get('_class_path')!r} checkpoint, "
                          "not a seqlit language model")
    vocab = _vocabulary(ckpt, path)
    if hparams.get("adaptive_input"):
        raise SeqlitError(f"model.pretrained.char_lms: {path!r} embeds with adaptive_input; pretrain the char LM "
                          "with a plain embedding table (--model.init_args.adaptive_input false)")
    return {"path": path, "direction": vocab.get("direction", "forward"), "tokens": vocab["tokens"]["tokens"],
            "embedding_dim": hparams["embedding_dim"], "backbone": hparams["backbone"]}


class CharLM(nn.Module):
    """One character LM's embedding and backbone (its softmax is not needed for features)."""

    def __init__(self, spec: dict):
        super().__init__()
        self.direction = spec["direction"]
        self.index = {c: i for i, c in enumerate(spec["tokens"])}
        self.unk_id = self.index.get("<unk>", 1)
        self.embedding = nn.Embedding(len(spec["tokens"]), spec["embedding_dim"])
        self.backbone = build(spec["backbone"], spec["embedding_dim"])

    def encode(self, words: list[str]) -> tuple[list[int], list[int]]:
        """Character ids of the sentence in reading order, and the position whose state describes each word."""
        text = START + SEPARATOR.join(words) + END
        ids = [self.index.get(c, self.unk_id) for c in text]
        starts, at = [], len(START)
        for w in words:
            starts.append(at)
            at += len(w) + len(SEPARATOR)
        if self.direction == "forward":  # after the word's last character
            return ids, [s + max(len(w), 1) - 1 for s, w in zip(starts, words)]
        n = len(ids)  # reversed text: after the word's first character, which a backward LM reads last
        return ids[::-1], [n - 1 - s for s in starts]

    def forward(self, sentences: list[list[str]], width: int) -> Tensor:
        """(B, width, H): each word's state, zeros past a sentence's end."""
        encoded = [self.encode(words) for words in sentences]
        device = self.embedding.weight.device
        lengths = torch.tensor([len(ids) for ids, _ in encoded])
        chars = torch.zeros(len(encoded), int(lengths.max()), dtype=torch.long)
        where = torch.zeros(len(encoded), width, dtype=torch.long)
        real = torch.zeros(len(encoded), width, dtype=torch.bool)
        for i, (ids, positions) in enumerate(encoded):
            chars[i, : len(ids)] = torch.tensor(ids)
            where[i, : len(positions)] = torch.tensor(positions)
            real[i, : len(positions)] = True
        out, _ = self.backbone(self.embedding(chars.to(device)), lengths=lengths)
        states = out.gather(1, where.to(device).unsqueeze(-1).expand(-1, -1, out.size(-1)))
        return states * real.to(device).unsqueeze(-1)


class CharLMFeatures(nn.Module):
    """The concatenated per-word states of one or more character LMs (forward, backward, or both)."""

    def __init__(self, specs: list[dict], tune: bool):
        super().__init__()
        self.lms = nn.ModuleList(CharLM(spec) for spec in specs)
        self.tune = tune
        self.output_size = sum(lm.backbone.output_size for lm in self.lms)
        if not tune:
            self.requires_grad_(False)

    def train(self, mode: bool = True):
        """Frozen LMs stay in eval mode: their dropout is part of pretraining, not of the features."""
        return super().train(mode and self.tune)

    def forward(self, sentences: list[list[str]], width: int) -> Tensor:
        with torch.set_grad_enabled(self.tune and torch.is_grad_enabled()):
            return torch.cat([lm(sentences, width) for lm in self.lms], dim=-1)

    @torch.no_grad()
    def load_weights(self, specs: list[dict]) -> list[str]:
        """Copy each LM's embedding and backbone from its checkpoint; returns one description per LM."""
        described = []
        for lm, spec in zip(self.lms, specs):
            state = load_checkpoint(spec["path"])["state_dict"]
            ours = {k: v for k, v in state.items() if k.startswith(("embedding.", "backbone."))}
            lm.load_state_dict(ours, strict=True)
            described.append(f"{spec['direction']} {spec['path']!r} ({lm.backbone.output_size} features)")
        return described


def resolve(entries: list[str | dict]) -> list[dict]:
    """`pretrained.char_lms` as specs: paths are read (a fit's first start), specs (a checkpoint's) kept."""
    specs = [read_spec(e) if isinstance(e, (str, os.PathLike)) else dict(e) for e in entries]
    directions = [s["direction"] for s in specs]
    if len(set(directions)) != len(directions):
        raise SeqlitError(f"model.pretrained.char_lms: two {directions[0]} LMs; give one forward and/or one backward "
                          "character LM (train the backward one with --data.init_args.direction backward)")
    return specs
