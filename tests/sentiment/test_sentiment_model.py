"""Classifier and its Reader: pooling ignores padding, last-state pooling reads both directions, word dropout,
ensembles, metrics, predictions."""

from __future__ import annotations

import re

import pytest
import torch

from seqlit.io.checkpoints import check_fits, load_checkpoint
from seqlit.errors import SeqlitError
from seqlit.nn.reader import Pool
from seqlit.tasks.classifier import Classifier
from tests.conftest import with_backbone

SPEC = {"vocab_size": 30, "pad_id": 0, "label_names": ["negative", "positive"]}


def model(**kwargs) -> Classifier:
    torch.manual_seed(0)
    spec = SPEC | {"label_names": kwargs.pop("labels", SPEC["label_names"])}
    args = {"embedding_dim": 8, "hidden_size": 6, "embedding_dropout": 0.0, "dropout": 0.0} | kwargs
    return Classifier(spec, **with_backbone(Classifier, **args)).eval()


@pytest.mark.parametrize("pooling", ["last", "mean", "max", "attention"])
@pytest.mark.parametrize("kind, bidirectional, num_layers", [("lstm", True, 2), ("gru", True, 1), ("rnn", False, 1), ("lstm", False, 1)])
def test_padding_does_not_change_the_output(pooling, kind, bidirectional, num_layers):
    m = model(pooling=pooling, kind=kind, bidirectional=bidirectional, num_layers=num_layers)
    short = torch.tensor([[5, 6, 7, 8]])
    alone = m(short, torch.tensor([4]))
    padded = torch.tensor([[5, 6, 7, 8, 0, 0, 0], [9, 10, 11, 12, 13, 14, 15]])
    batched = m(padded, torch.tensor([4, 7]))
    torch.testing.assert_close(batched[0], alone[0], rtol=1e-5, atol=1e-6)


def test_scratch_backend_pools_like_the_fused_one():
    fused, scratch = model(pooling="attention"), model(pooling="attention", backend="scratch")
    ids, lengths = torch.tensor([[5, 6, 7, 0], [9, 10, 11, 12]]), torch.tensor([3, 4])
    torch.testing.assert_close(scratch(ids, lengths), fused(ids, lengths), rtol=1e-5, atol=1e-6)


def test_last_pooling_takes_both_directions_final_states():
    """Forward direction after the last real word, backward direction after the first word."""
    m = model(pooling="last", kind="gru", bidirectional=True).readers[0]
    ids, lengths = torch.tensor([[5, 6, 7, 0, 0]]), torch.tensor([3])
    outputs, state = m.backbone(m.embedding(ids), lengths=lengths)
    h = m.backbone.hidden_size
    expected = torch.cat([outputs[0, 2, :h], outputs[0, 0, h:]])
    torch.testing.assert_close(m.last_state(outputs, lengths)[0], expected)
    torch.testing.assert_close(m.last_state(outputs, lengths), torch.cat([state[-2], state[-1]], dim=-1))


def test_pools_skip_padding_values():
    outputs = torch.tensor([[[1.0, -2.0], [3.0, 0.0], [100.0, 100.0]]])  # step 3 is padding
    lengths, last = torch.tensor([2]), torch.zeros(1, 2)
    torch.testing.assert_close(Pool("mean", 2)(outputs, lengths, last), torch.tensor([[2.0, -1.0]]))
    torch.testing.assert_close(Pool("max", 2)(outputs, lengths, last), torch.tensor([[3.0, 0.0]]))
    attention = Pool("attention", 2)(outputs, lengths, last)
    assert attention.abs().max() <= 3.0  # a convex mix of the two real steps only


def test_binary_metrics_include_auroc_and_multiclass_does_not():
    batch = {"input_ids": torch.tensor([[5, 6, 0], [7, 8, 9], [4, 3, 0]]), "lengths": torch.tensor([2, 3, 2]),
             "labels": torch.tensor([0, 1, 1])}
    binary = model()
    binary.validation_step(batch, 0)
    assert set(binary.eval_metrics["val"]) == {"acc", "f1_macro", "auroc"}
    with torch.no_grad():
        positive = binary(batch["input_ids"], batch["lengths"]).softmax(-1)[:, 1]
    # AUROC by its definition: the share of (positive, negative) pairs the positive-class probability ranks right
    pairs = [(positive[i] > positive[j]).float() + 0.5 * (positive[i] == positive[j]).float()
             for i in (1, 2) for j in (0,)]
    assert float(binary.eval_metrics["val"]["auroc"].compute()) == pytest.approx(float(sum(pairs) / len(pairs)))
    three = model(labels=["neg", "neutral", "pos"])
    three.test_step(batch | {"labels": torch.tensor([0, 2, 1])}, 0)
    assert set(three.eval_metrics["test"]) == {"acc", "f1_macro"}
    assert three.readers[0].out.out_features == 3


def test_predict_step_records():
    m = model(labels=["neg", "neutral", "pos"])
    batch = {"input_ids": torch.tensor([[5, 6, 0], [7, 8, 9]]), "lengths": torch.tensor([2, 3]),
             "index": torch.tensor([4, 1]), "texts": ["so so", "not bad at all"], "labels": torch.tensor([-1, -1])}
    records = m.predict_step(batch, 0)
    assert [r["index"] for r in records] == [4, 1] and records[1]["text"] == "not bad at all"
    for r in records:
        assert set(r["probs"]) == {"neg", "neutral", "pos"} and abs(sum(r["probs"].values()) - 1) < 1e-4
        assert r["label"] == max(r["probs"], key=r["probs"].get)


def test_needs_a_data_spec_with_labels():
    with pytest.raises(SeqlitError, match="data_spec lacks label_names"):
        Classifier({"vocab_size": 10, "pad_id": 0})


def test_word_dropout_replaces_words_by_unk_in_training_only():
    m = Classifier(SPEC | {"unk_id": 1}, **with_backbone(Classifier, embedding_dim=8, hidden_size=6, word_dropout=0.5)).readers[0]
    ids = torch.tensor([[5, 6, 7, 8, 9, 10, 11, 12, 0, 0]] * 200)
    m.train()
    dropped = m.drop_words(ids)
    assert set(dropped.unique().tolist()) <= {0, 1, 5, 6, 7, 8, 9, 10, 11, 12}
    assert (dropped[:, 8:] == 0).all(), "padding is never dropped"
    rate = (dropped[:, :8] == 1).float().mean().item()
    assert 0.45 < rate < 0.55
    m.eval()
    assert torch.equal(m.drop_words(ids), ids)


def test_word_dropout_needs_unk_and_a_probability():
    with pytest.raises(SeqlitError, match="word_dropout needs a vocabulary with <unk>"):
        Classifier(SPEC, word_dropout=0.1)
    with pytest.raises(SeqlitError, match=r"Classifier: word_dropout must be a number in \[0, 1\)"):
        Classifier(SPEC | {"unk_id": 1}, word_dropout=1.0)


def test_an_ensemble_predicts_the_mean_of_its_readers_probabilities():
    m = model(ensemble=3)
    ids, lengths = torch.tensor([[5, 6, 7, 0], [9, 10, 11, 12]]), torch.tensor([3, 4])
    members = torch.stack([reader(ids, lengths).softmax(-1) for reader in m.readers])
    assert not torch.allclose(members[0], members[1]), "readers start from their own weights"
    torch.testing.assert_close(m(ids, lengths).exp(), members.mean(0))
    torch.testing.assert_close(model()(ids, lengths), model().readers[0](ids, lengths).log_softmax(-1))


def test_each_reader_learns_from_its_own_loss():
    m = model(ensemble=2).train()
    batch = {"input_ids": torch.tensor([[5, 6, 0], [7, 8, 9]]), "lengths": torch.tensor([2, 3]), "labels": torch.tensor([0, 1])}
    m.log = lambda *args, **kwargs: None
    loss = m.training_step(batch, 0)
    own = [torch.nn.functional.cross_entropy(r(batch["input_ids"], batch["lengths"]), batch["labels"]) for r in m.readers]
    torch.testing.assert_close(loss, torch.stack(own).mean())
    with pytest.raises(SeqlitError, match="Classifier: ensemble must be a positive integer"):
        model(ensemble=0)


def test_a_checkpoint_from_before_ensembles_loads_as_reader_zero(tmp_path):
    m = model()
    # before ensembles one reader's weights sat at the top level, and its backbone was called `rnn`
    old_layout = {re.sub(r"^backbone\.", "rnn.", k.removeprefix("readers.0.")): v for k, v in m.state_dict().items()}
    path = tmp_path / "old.ckpt"
    torch.save({"state_dict": old_layout, "hyper_parameters": dict(m.hparams), "pytorch-lightning_version": "2.6.0"}, path)
    check_fits(load_checkpoint(path), str(path), model())  # the CLI's check before loading (upgraded as it reads)
    loaded = Classifier.load_from_checkpoint(path, weights_only=True).eval()
    ids, lengths = torch.tensor([[5, 6, 7, 0], [9, 10, 11, 12]]), torch.tensor([3, 4])
    torch.testing.assert_close(loaded(ids, lengths), m(ids, lengths))
