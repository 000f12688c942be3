"""One function turns a checkpoint into a model (`seqlit.io.checkpoints.model_from_checkpoint`), and a checkpoint
of an older layout is upgraded once, where it is read (`seqlit.io.upgrades`)."""

from __future__ import annotations

import pytest
import torch

from seqlit.io.checkpoints import load_checkpoint, model_from_checkpoint
from seqlit.errors import SeqlitError
from seqlit.cli.generate import load_language_model
from seqlit.tasks import LanguageModel, Tagger
from seqlit.io.upgrades import upgrade
from tests.conftest import REPO

LEGACY = REPO / "tests" / "fixtures" / "legacy"


def test_a_legacy_checkpoint_is_read_in_todays_layout_and_upgrading_again_changes_nothing():
    raw = torch.load(LEGACY / "tagger.ckpt", map_location="cpu", weights_only=True)
    assert "word_dim" in raw["hyper_parameters"] and any(k.startswith("rnn.") for k in raw["state_dict"])
    ckpt = load_checkpoint(LEGACY / "tagger.ckpt")
    hparams = ckpt["hyper_parameters"]
    assert "word_dim" not in hparams and hparams["embedding_dim"] == raw["hyper_parameters"]["word_dim"]
    assert hparams["backbone"]["init_args"]["hidden_size"] == raw["hyper_parameters"]["hidden_size"]
    assert "label_names" in hparams["data_spec"] and not any(k.startswith("rnn.") for k in ckpt["state_dict"])
    again = upgrade({"hyper_parameters": dict(hparams), "state_dict": dict(ckpt["state_dict"])})
    assert again["hyper_parameters"] == hparams and again["state_dict"].keys() == ckpt["state_dict"].keys()


def test_the_model_is_the_class_the_checkpoint_names_with_its_weights_and_vocabulary():
    model = model_from_checkpoint(LEGACY / "tagger.ckpt")
    assert type(model) is Tagger and model._checkpoint_data is not None
    state = load_checkpoint(LEGACY / "tagger.ckpt")["state_dict"]
    assert all(torch.equal(model.state_dict()[k], v) for k, v in state.items())
    with pytest.raises(SeqlitError, match=r"written by another task \(Tagger\): use Tagger.load_from_checkpoint$"):
        model_from_checkpoint(LEGACY / "tagger.ckpt", LanguageModel)


def test_a_checkpoint_naming_no_class_needs_its_task(tmp_path):
    path = tmp_path / "bare.ckpt"
    torch.save({"state_dict": {}, "hyper_parameters": {}}, path)
    with pytest.raises(SeqlitError, match=r"names no model class: load it with its task's load_from_checkpoint"):
        model_from_checkpoint(path)


def test_generate_refuses_a_language_model_checkpoint_without_its_vocabulary(tmp_path):
    ckpt = torch.load(LEGACY / "language_model.ckpt", map_location="cpu", weights_only=True)
    path = tmp_path / "no_vocab.ckpt"
    torch.save({k: v for k, v in ckpt.items() if not (isinstance(v, dict) and "vocab" in v)}, path)
    with pytest.raises(SeqlitError, match=r"holds no vocabulary \(no data module state\)"):
        load_language_model(str(path))
