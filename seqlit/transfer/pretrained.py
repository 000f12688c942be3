"""The `pretrained:` section every task takes: where its word embedding and backbone start from, and how they
are fine-tuned.

    model:
      init_args:
        pretrained:
          vectors: glove.6B.100d.txt.gz   # word vectors (GloVe / word2vec text / fastText .vec, gzipped or not)
          lm: runs/lm/best.ckpt           # or a seqlit word LM: its embedding rows and backbone (ULMFiT)
          freeze: false                   # keep the word embedding as loaded
          lr_decay: 2.6                   # discriminative learning rates (1: one lr for all)
          gradual_unfreezing: true        # one more layer group trains each epoch, from the top

A task names its word embedding, its backbone and the data module's vocabulary they index once
(`SeqTask.transfer_targets`, `SeqTask.word_vocab`); `SeqTask` calls the functions below from its hooks.
The weights are loaded when `fit` starts from scratch only: a resumed fit, `test` and `predict` take them
from their checkpoint, which holds them, so neither the vector file nor the LM checkpoint is needed again.
"""

from __future__ import annotations

from typing import TypedDict

import torch
from pytorch_lightning.utilities import rank_zero_info
from torch import nn

from seqlit.errors import SeqlitError
from seqlit.transfer.lm import copy_backbone, embedding_rows, read_language_model
from seqlit.transfer.vectors import read_vectors


class Pretrained(TypedDict, total=False):
    """The `pretrained:` section (every key optional)."""

    vectors: str | None
    lm: str | None
    freeze: bool
    lr_decay: float
    gradual_unfreezing: bool


def check(section: Pretrained | None) -> Pretrained:
    """The section with its defaults, refused in one line when its settings contradict each other."""
    section = {"vectors": None, "lm": None, "freeze": False, "lr_decay": 1.0, "gradual_unfreezing": False,
               **(section or {})}
    if section["vectors"] and section["lm"]:
        raise SeqlitError("model.pretrained: give vectors or lm, not both (each initialises the word embedding)")
    if not section["lr_decay"] >= 1.0:
        raise SeqlitError(f"model.pretrained.lr_decay must be 1 or more (each lower layer group's lr is divided by it), "
                          f"got {section['lr_decay']}: ULMFiT uses 2.6")
    return section


def vocabulary_tokens(datamodule, attribute: str) -> list[str]:
    """The words, in id order, of the data module's vocabulary `attribute` (`vocab`, `source_vocab`).

    The one place transfer reads a data module: its vocabulary object's `tokens` list.
    """
    tokens = getattr(getattr(datamodule, attribute, None), "tokens", None)
    if not isinstance(tokens, list):
        raise SeqlitError(f"model.pretrained needs a word vocabulary, and the data module "
                          f"{type(datamodule).__name__} has none in `{attribute}` (a subword tokenizer?): "
                          "use a word-level vocabulary, or drop model.pretrained")
    return tokens


def embeddings(task) -> list[nn.Embedding]:
    """The task's word embeddings, refused in one line unless they are plain `nn.Embedding` tables."""
    tables = [embedding for embedding, _ in task.transfer_targets()]
    if not all(isinstance(e, nn.Embedding) for e in tables):
        raise SeqlitError(f"model.pretrained needs a plain word embedding, and {type(task).__name__}'s is "
                          f"{type(tables[0]).__name__}: set --model.init_args.adaptive_input false")
    return tables


@torch.no_grad()
def initialise(task, datamodule) -> None:
    """Load the section's vectors or LM into the task's embeddings (and backbones); report the coverage (rank zero)."""
    section = task.pretrained
    if not (section["vectors"] or section["lm"]):
        return
    tables = embeddings(task)
    tokens = vocabulary_tokens(datamodule, task.word_vocab)
    if len(tokens) != tables[0].num_embeddings:
        raise SeqlitError(f"model.pretrained: the data module's vocabulary has {len(tokens)} words but the word "
                          f"embedding {tables[0].num_embeddings} rows: is model.data_spec linked from this data module?")
    skip = {tables[0].padding_idx} if tables[0].padding_idx is not None else set()
    dim = tables[0].embedding_dim
    if section["vectors"]:
        rows, n_exact, n_lower = read_vectors(section["vectors"], tokens, dim, skip)
        source, extra = f"vectors {section['vectors']!r}", ""
    else:
        lm = read_language_model(section["lm"])
        rows, n_exact, n_lower = embedding_rows(lm, tokens, dim, skip)
        for _, backbone in task.transfer_targets():
            copied, left = copy_backbone(lm, backbone)
        source = f"language model {lm.path!r}"
        extra = f"; backbone units copied: {', '.join(copied)}" + (f", fresh: {', '.join(left)}" if left else "")
    if rows:
        index = torch.tensor(sorted(rows))
        values = torch.stack([rows[r] for r in sorted(rows)])
        for table in tables:
            table.weight[index.to(table.weight.device)] = values.to(table.weight)
    words = len(tokens) - len(skip)
    rank_zero_info(f"[seqlit] pretrained {source}: {len(rows)} of {words} words ({100 * len(rows) / max(words, 1):.1f}%) "
                   f"have a vector, {n_exact} exact and {n_lower} lower-cased; the others keep their initialisation{extra}")


def freeze(task) -> set[int]:
    """With `freeze`, stop the word embeddings from training; returns the ids of the parameters kept frozen."""
    if not task.pretrained["freeze"]:
        return set()
    frozen = set()
    for table in embeddings(task):
        table.weight.requires_grad_(False)
        frozen.add(id(table.weight))
    return frozen
