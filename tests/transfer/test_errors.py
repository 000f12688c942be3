"""The mistakes people make with `pretrained:`, each refused in one line that names the key and the fix."""

from __future__ import annotations

import types

import pytest
import torch

from seqlit.errors import SeqlitError
from seqlit.tasks import LanguageModel
from seqlit.transfer import pretrained as transfer
from seqlit.vocab import Vocab
from tests.transfer.models import classifier

TOKENS = ["<pad>", "<unk>", "the", "film"]


def refused(task, datamodule=None) -> str:
    with pytest.raises(SeqlitError) as err:
        transfer.initialise(task, datamodule or types.SimpleNamespace(vocab=Vocab(TOKENS)))
    message = str(err.value)
    print(message)  # docs/errors.md quotes these (pytest -s)
    assert "\n" not in message
    return message


def fake_lm(path, class_path="seqlit.tasks.LanguageModel", level="word", embedding=True):
    state = {"embedding.weight": torch.zeros(4, 16)} if embedding else {"embedding.tables.0.weight": torch.zeros(4, 16)}
    torch.save({"state_dict": state, "hyper_parameters": {"_class_path": class_path},
                "LanguageModelingData": {"vocab_format": 1, "vocab": {"level": level, "tokens": {"tokens": TOKENS}}}},
               path)
    return str(path)


def test_missing_files(tmp_path):
    assert "does not exist" in refused(classifier(TOKENS, pretrained={"vectors": str(tmp_path / "glove.txt")}))
    assert "does not exist" in refused(classifier(TOKENS, pretrained={"lm": str(tmp_path / "lm.ckpt")}))


def test_checkpoints_that_are_not_word_lms(tmp_path):
    other = fake_lm(tmp_path / "c.ckpt", class_path="seqlit.tasks.Classifier")
    assert "is a seqlit.tasks.Classifier checkpoint, not a language model" in refused(classifier(TOKENS, pretrained={"lm": other}))
    chars = fake_lm(tmp_path / "char.ckpt", level="char")
    assert "--data.init_args.level word" in refused(classifier(TOKENS, pretrained={"lm": chars}))
    adaptive = fake_lm(tmp_path / "adaptive.ckpt", embedding=False)
    assert "adaptive_input false" in refused(classifier(TOKENS, pretrained={"lm": adaptive}))


def test_vocabularies_and_embeddings_vectors_cannot_go_into(tmp_path):
    subword = types.SimpleNamespace(vocab=types.SimpleNamespace(tokenizer="bpe"))
    assert "a word vocabulary" in refused(classifier(TOKENS, pretrained={"vectors": "v.txt"}), subword)
    lm = LanguageModel({"vocab_size": 4, "pad_id": 0, "level": "word"}, embedding_dim=8, adaptive_cutoffs=[2],
                       adaptive_input=True, pretrained={"vectors": "v.txt"})
    assert "--model.init_args.adaptive_input false" in refused(lm)
