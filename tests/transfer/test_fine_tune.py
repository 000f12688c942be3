"""Discriminative learning rates: one optimizer group per layer group, each lower one's lr divided by lr_decay."""

from __future__ import annotations

import pytest
import torch

from seqlit.tasks import Tagger
from seqlit.transfer import fine_tune
from tests.conftest import with_backbone
from tests.transfer.models import classifier

TOKENS = ["<pad>", "<unk>", "a", "b"]


def test_each_group_gets_the_decayed_lr():
    m = classifier(TOKENS, num_layers=2, bidirectional=True, pooling="attention", lr=0.01,
                   pretrained={"lr_decay": 2.0}, ensemble=2)
    optimizer = m.configure_optimizers()
    lrs = [group["lr"] for group in optimizer.param_groups]
    assert lrs == pytest.approx([0.01 / 8, 0.01 / 4, 0.01 / 2, 0.01])
    names = {id(p): n for n, p in m.named_parameters()}
    groups = [[names[id(p)] for p in group["params"]] for group in optimizer.param_groups]
    assert sorted(groups[0]) == ["readers.0.embedding.weight", "readers.1.embedding.weight"]
    assert all("backbone" in n and ("_l0" in n) for n in groups[1]) and len(groups[1]) == 2 * 8  # 2 readers x 2 directions x 4
    assert all("backbone" in n and ("_l1" in n) for n in groups[2]) and len(groups[2]) == 2 * 8
    assert {n.split(".")[2] for n in groups[3]} == {"pool", "out"}
    assert sum(len(g) for g in groups) == len(list(m.parameters()))  # every parameter, once


def test_without_decay_one_group_with_the_task_lr():
    m = classifier(TOKENS, lr=0.01)
    optimizer = m.configure_optimizers()
    assert [g["lr"] for g in optimizer.param_groups] == [0.01]


def test_the_taggers_fresh_parts_are_in_the_top_group():
    spec = {"vocab_size": 4, "pad_id": 0, "unk_id": 1, "rare_start": 4, "char_vocab_size": 5, "char_pad_id": 0,
            "num_casings": 3, "label_names": ["O", "B-X", "I-X"]}
    torch.manual_seed(0)
    m = Tagger(spec, **with_backbone(Tagger, embedding_dim=4, hidden_size=4))
    groups = fine_tune.layer_groups(m)
    names = {id(p): n for n, p in m.named_parameters()}
    assert [names[id(p)] for p in groups[0]] == ["word_embedding.weight"]
    assert {names[id(p)].split(".")[0] for p in groups[-1]} == {"casing_embedding", "chars", "scores", "crf"}


def test_gradual_unfreezing_refuses_ddp(monkeypatch):
    """DDP registers the parameters that need gradients when it wraps the model; unfreezing later would break it."""
    from types import SimpleNamespace

    from pytorch_lightning.strategies import DDPStrategy

    from seqlit.errors import SeqlitError

    m = classifier(TOKENS, pretrained={"gradual_unfreezing": True})
    monkeypatch.setattr(type(m), "trainer", property(lambda self: SimpleNamespace(strategy=DDPStrategy())))
    with pytest.raises(SeqlitError, match="gradual_unfreezing runs on one process only"):
        m.setup("fit")
