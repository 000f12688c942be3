"""ConditionalLanguageModel: every condition mode on both backends; the condition changes what it writes."""

from __future__ import annotations

import pytest
import torch

from seqlit.errors import SeqlitError
from seqlit.generation import sample, sample_rerun
from seqlit.tasks import ConditionalLanguageModel

SPEC = {"vocab_size": 20, "pad_id": 0, "level": "word", "condition_fields": {"label": ["negative", "positive"]}}
MODES = ("init", "concat", "both", "none")


def model(mode: str, backend: str = "fused", kind: str = "lstm", **kwargs) -> ConditionalLanguageModel:
    torch.manual_seed(0)
    backbone = {"class_path": "seqlit.nn.Recurrent",
                "init_args": {"kind": kind, "backend": backend, "hidden_size": 12, "num_layers": 2}}
    return ConditionalLanguageModel(SPEC, backbone=backbone, condition=mode, condition_dim=4, embedding_dim=6,
                                    dropout=0.0, embedding_dropout=0.0, **kwargs).eval()


def batch(conditions: list[int]) -> dict:
    ids = torch.tensor([[2, 5, 6, 7, 8], [2, 9, 10, 0, 0]])
    targets = torch.tensor([[5, 6, 7, 8, 3], [9, 10, 3, -100, -100]])
    return {"input_ids": ids, "targets": targets, "lengths": torch.tensor([5, 3]), "conditions": torch.tensor(conditions)}


@pytest.mark.parametrize("backend", ["fused", "scratch"])
@pytest.mark.parametrize("mode", MODES)
def test_shapes_loss_and_what_the_condition_changes(mode, backend):
    m = model(mode, backend)
    logp, state = m.step(batch([0, 1])["input_ids"], torch.tensor([0, 1]))
    assert logp.shape == (2, 5, 20) and torch.allclose(logp.exp().sum(-1), torch.ones(2, 5))
    assert isinstance(state, tuple) and state[0].shape == (2, 2, 12)
    loss, n = m._nll(batch([0, 1]))
    assert n == 8 and torch.isfinite(loss)
    other, _ = m.step(batch([0, 1])["input_ids"], torch.tensor([1, 0]))
    assert torch.allclose(logp, other) == (mode == "none")  # the baseline never reads the condition
    assert (m.condition_embeddings is None) == (mode == "none") and (m.bridge is not None) == (mode in ("init", "both"))


@pytest.mark.parametrize("mode", ["init", "concat"])
def test_fused_and_scratch_compute_the_same_model(mode):
    fused, scratch = model(mode, "fused"), model(mode, "scratch")
    scratch.load_state_dict(fused.state_dict())
    ids, cond = batch([0, 1])["input_ids"], torch.tensor([0, 1])
    assert torch.allclose(fused.step(ids, cond)[0], scratch.step(ids, cond)[0], atol=1e-5)


def test_padding_does_not_change_a_sequences_loss():
    m = model("both")
    alone = {k: v[1:] for k, v in batch([0, 1]).items()}
    alone = {**alone, "input_ids": alone["input_ids"][:, :3], "targets": alone["targets"][:, :3]}
    full, _ = m._nll(batch([1, 1]))
    single, n = m._nll(alone)
    first = {k: v[:1] for k, v in batch([1, 1]).items()}
    both_sum = m._nll(first)[0] * 5 + single * n
    assert torch.allclose(full * 8, both_sum, atol=1e-5)


@pytest.mark.parametrize("mode", MODES)
def test_cached_sampling_equals_rerunning_the_prefix(mode):
    writer = model(mode, kind="gru").conditioned(1)
    assert sample(writer, [2, 5], 12, seed=3) == sample_rerun(writer, [2, 5], 12, seed=3)


def test_conditions_write_different_samples():
    m = model("both", lr_schedule="constant")
    with torch.no_grad():
        m.condition_embeddings[0].weight.copy_(torch.tensor([[3.0] * 4, [-3.0] * 4]))
    assert sample(m.conditioned(0), [2], 15, temperature=0) != sample(m.conditioned(1), [2], 15, temperature=0)


def test_bidirectional_backbone_and_unknown_mode_are_refused():
    with pytest.raises(SeqlitError, match="bidirectional must be false"):
        ConditionalLanguageModel(SPEC, backbone={"init_args": {"hidden_size": 4, "bidirectional": True}})
    with pytest.raises(SeqlitError, match="model.condition must be init, concat, both or none"):
        ConditionalLanguageModel(SPEC, condition="prefix")


def test_describe_names_the_condition_mode():
    d = model("init").describe()
    assert (d["task"], d["head"], d["condition"], d["conditions"]) == ("conditional_lm", "cond-init", "init", 2)
