"""Tagger: every char encoder / backbone / output combination runs, padding changes nothing, spans map to text."""

from __future__ import annotations

import pytest
import torch

from data_modules.tagging import TaggingData
from seqlit.errors import SeqlitError
from seqlit.tasks import Tagger
from tests.conftest import with_backbone

SMALL = dict(hidden_size=16, embedding_dim=12, casing_dim=4, char_dim=8, char_features=10)


@pytest.fixture
def data(conll_dir, tmp_path):
    raw = tmp_path / "raw.txt"
    raw.write_text("John Smith lives in New York.\nSiemens said so on Monday in Berlin !\n", encoding="utf-8")
    return TaggingData(path=str(conll_dir), batch_size=8, eval_batch_size=8, predict_file=str(raw))


@pytest.mark.parametrize("kind,char_encoder,output", [
    ("lstm", "cnn", "crf"), ("gru", "rnn", "crf"), ("rnn", "none", "softmax"), ("lstm", "rnn", "softmax"),
])
def test_train_step_and_decode(data, kind, char_encoder, output):
    torch.manual_seed(0)
    model = Tagger(data.data_spec, **with_backbone(Tagger, kind=kind, char_encoder=char_encoder, output=output, **SMALL))
    batch = next(iter(data.train_dataloader()))
    loss = model.loss(model.emissions(batch), batch["tags"], model.mask(batch))
    loss.backward()
    assert torch.isfinite(loss) and model.word_embedding.weight.grad is not None
    model.eval()
    mask = model.mask(batch)
    tags = model.decode(model.emissions(batch), mask)
    assert tags.shape == batch["input_ids"].shape and (tags[~mask] == 0).all()
    assert int(tags.max()) < len(data.spec()["label_names"])


@pytest.mark.parametrize("char_encoder", ["cnn", "rnn"])
def test_padding_does_not_change_scores(data, char_encoder):
    """A sentence scores the same alone and batched with longer sentences (longer words, more tokens)."""
    torch.manual_seed(0)
    model = Tagger(data.data_spec, **with_backbone(Tagger, char_encoder=char_encoder, **SMALL)).eval()
    short = data.encode(["Ali", "left", "."])
    long = data.encode(["Peter", "van", "Dijk", "visited", "Hong", "Kong", "yesterday", "morning", "."])
    alone = model.emissions(data.collate([short]))
    together = model.emissions(data.collate([long, short]))
    torch.testing.assert_close(together[1, :3], alone[0], rtol=1e-5, atol=1e-5)


def test_rare_words_become_unk_only_in_training(data):
    spec = {**data.data_spec, "rare_start": 3}  # pretend every word from id 3 on was seen once
    model = Tagger(spec, **with_backbone(Tagger, rare_unk=0.99, **SMALL))
    words = torch.tensor([[2, 3]])
    batch = {"input_ids": words, "casing": torch.ones_like(words), "chars": torch.ones(1, 2, 1, dtype=torch.long),
             "lengths": torch.tensor([2])}
    seen = []
    model.word_embedding.register_forward_hook(lambda m, inputs, out: seen.append(inputs[0].tolist()))
    torch.manual_seed(0)
    model.train().emissions(batch)
    model.eval().emissions(batch)
    assert seen == [[[2, spec["unk_id"]]], [[2, 3]]]


def test_predict_step_entities_point_into_text(data):
    model = Tagger(data.data_spec, **with_backbone(Tagger, **SMALL)).eval()
    # force "B-PER I-PER O ..." on every sentence by hand-setting the scores
    names = data.spec()["label_names"]
    batch = next(iter(data.predict_dataloader()))
    t = batch["input_ids"].size(1)
    fixed = torch.full((len(batch["text"]), t, len(names)), -10.0)
    fixed[:, :, names.index("O")] = 0.0
    fixed[:, 0, names.index("B-PER")] = 10.0
    fixed[:, 1, names.index("I-PER")] = 10.0
    model.emissions = lambda b: fixed
    records = sorted(model.predict_step(batch, 0), key=lambda r: r["index"])
    first = records[0]
    assert first["tokens"] == ["John", "Smith", "lives", "in", "New", "York", "."]
    assert first["entities"] == [{"type": "PER", "start": 0, "end": 10, "text": "John Smith", "token_start": 0, "token_end": 2}]
    for r in records:
        for e in r["entities"]:
            assert r["text"][e["start"]:e["end"]] == e["text"]


def test_bad_arguments(data):
    with pytest.raises(SeqlitError, match=r"Tagger: dropout must be a number in \[0, 1\)"):
        Tagger(data.data_spec, dropout=1.0)
    with pytest.raises(SeqlitError, match="char_features must be even"):
        Tagger(data.data_spec, char_encoder="rnn", char_features=11)
    spec = {**data.data_spec, "label_names": ["O", "PER", "LOC"]}
    with pytest.raises(SeqlitError, match="constrain_bio false"):
        Tagger(spec)
    Tagger(spec, **with_backbone(Tagger, constrain_bio=False, **SMALL))
    with pytest.raises(SeqlitError, match="Recurrent: hidden_size must be a positive integer, got 0"):
        Tagger(data.data_spec, **with_backbone(Tagger, hidden_size=0))
    with pytest.raises(SeqlitError, match="needs data_spec"):
        Tagger()


def test_kept_iob1_needs_an_unconstrained_crf(conll_dir):
    """A BIO-constrained CRF forbids O -> I-X, so kept IOB1 gold paths would be impossible: one clear error."""
    spec = TaggingData(path=str(conll_dir), keep_iob1=True).data_spec
    with pytest.raises(SeqlitError, match=r"data.keep_iob1 keeps IOB1 tags.*set --model.init_args.constrain_bio false"):
        Tagger(spec, **with_backbone(Tagger, **SMALL))
    assert Tagger(spec, **with_backbone(Tagger, constrain_bio=False, **SMALL)).crf is not None
    assert Tagger(spec, **with_backbone(Tagger, output="softmax", **SMALL)).crf is None
