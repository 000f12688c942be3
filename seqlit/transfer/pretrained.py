"""The `pretrained:` section every task takes: where its word embedding and backbone start from, and how they
are fine-tuned (the keys: docs/transfer.md).

A task names its word embedding, backbone and vocabulary once (`SeqTask.transfer_targets`, `word_vocab`);
`SeqTask` calls the functions below from its hooks. Weights are loaded only when `fit` starts from scratch: a
resumed fit, `test` and `predict` take them from their checkpoint, so the source files are not needed again.
"""

from __future__ import annotations

from typing import TypedDict

import torch
from pytorch_lightning.utilities import rank_zero_info
from torch import nn

from seqlit.errors import SeqlitError
from seqlit.transfer.char_lm import CharLMFeatures, resolve
from seqlit.transfer.lm import copy_backbone, embedding_rows, read_language_model
from seqlit.transfer.vectors import read_vectors


class Pretrained(TypedDict, total=False):
    """The `pretrained:` section (every key optional)."""

    vectors: str | None
    lm: str | None
    freeze: bool
    lr_decay: float
    gradual_unfreezing: bool
    char_lms: list[str | dict] | None  # paths; a task checkpoint stores what each LM is instead (char_lm.read_spec)
    tune_char_lms: bool


def check(section: Pretrained | None) -> Pretrained:
    """The section with its defaults, refused in one line when its settings contradict each other."""
    section = {"vectors": None, "lm": None, "freeze": False, "lr_decay": 1.0, "gradual_unfreezing": False,
               "char_lms": None, "tune_char_lms": False, **(section or {})}
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


def char_lm_features(task) -> CharLMFeatures | None:
    """The task's contextual string features, if `char_lms` names any; called by a task that can use them.

    The paths are replaced by what each LM is (in `task.hparams` too, which the checkpoint keeps), so that a
    task rebuilt from its checkpoint needs no LM file."""
    if not task.pretrained["char_lms"]:
        return None
    specs = resolve(task.pretrained["char_lms"])
    task.pretrained["char_lms"] = specs
    task.hparams["pretrained"] = {**(task.hparams.get("pretrained") or {}), "char_lms": specs}
    return CharLMFeatures(specs, task.pretrained["tune_char_lms"])


@torch.no_grad()
def initialise(task, datamodule) -> None:
    """Load the section's vectors or LM into the task's embeddings (and backbones), and its char LMs into their
    feature module; report the coverage (rank zero)."""
    section = task.pretrained
    if task.char_lms is not None:
        for line in task.char_lms.load_weights(section["char_lms"]):
            rank_zero_info(f"[seqlit] pretrained char LM {line}" +
                           ("" if section["tune_char_lms"] else ", frozen"))
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
    """With `freeze`, stop the word embeddings from training; returns the ids of the parameters kept frozen
    (the char LMs' too, unless `tune_char_lms`, so gradual unfreezing leaves them alone)."""
    if task.pretrained["char_lms"] and task.char_lms is None:
        raise SeqlitError(f"model.pretrained.char_lms: {type(task).__name__} takes no contextual string features "
                          "(the Tagger and the Classifier do): drop model.pretrained.char_lms")
    frozen = set()
    if task.char_lms is not None and not task.pretrained["tune_char_lms"]:
        frozen |= {id(p) for p in task.char_lms.parameters()}
    if not task.pretrained["freeze"]:
        return frozen
    for table in embeddings(task):
        table.weight.requires_grad_(False)
        frozen.add(id(table.weight))
    return frozen
