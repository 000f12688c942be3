"""Language model mechanics: state carried across windows, the standard perplexity, and
cached-state sampling that reproduces re-running the prefix token for token."""

import math

import pytest
import torch

from seqlit.generation import sample, sample_rerun
from seqlit.tasks.language_model import LanguageModel
from tests.conftest import with_backbone

SPEC = {"vocab_size": 30, "pad_id": 0, "level": "word"}


def model(kind="gru", **kw):
    torch.manual_seed(0)
    return LanguageModel(data_spec=SPEC, **with_backbone(LanguageModel, kind=kind, **{"embedding_dim": 8, "hidden_size": 12, "num_layers": 2, **kw})).eval()


@pytest.mark.parametrize("kind", ["rnn", "gru", "lstm"])
def test_carried_state_equals_one_long_run(kind):
    m = model(kind)
    ids = torch.randint(0, 30, (3, 20))
    whole, _ = m.features(ids)
    first, state = m.features(ids[:, :9])
    second, _ = m.features(ids[:, 9:], state)
    assert torch.allclose(torch.cat([first, second], 1), whole, atol=1e-6)


def test_eval_perplexity_is_token_weighted_over_the_stream():
    m = model()
    stream = torch.randint(0, 30, (2, 41))
    for start in range(0, 40, 16):  # windows of 16, 16, 8: unequal on purpose
        end = min(start + 16, 40)
        m.validation_step({"input_ids": stream[:, start:end], "targets": stream[:, start + 1 : end + 1]}, 0)
    got = float(m.eval_loss["val"].compute())
    logp, _ = m.step(stream[:, :-1])
    expected = -logp.gather(-1, stream[:, 1:, None]).mean().item()
    assert math.isclose(got, expected, rel_tol=1e-6)


def test_weight_dropout_masks_the_recurrence_in_training_only():
    m = model("lstm", weight_dropout=0.5, dropout=0.0, embedding_dropout=0.0)
    ids = torch.randint(0, 30, (3, 10))
    assert torch.equal(m.features(ids)[0], m.features(ids)[0])
    m.train()
    assert not torch.allclose(m.features(ids)[0], m.features(ids)[0])


@pytest.mark.parametrize("kw", [{}, {"adaptive_cutoffs": [10, 20]}, {"tie_weights": True}, {"weight_dropout": 0.5},
                                {"adaptive_cutoffs": [10, 20], "adaptive_input": True, "embedding_dim": 16},
                                {"adaptive_cutoffs": [10, 20], "adaptive_input": True, "tie_weights": True,
                                 "embedding_dim": 16}])
@pytest.mark.parametrize("temperature, top_k", [(1.0, None), (0.7, 5), (0.0, None)])
def test_cached_sampling_matches_rerunning_the_prefix(kw, temperature, top_k):
    m = model(**kw)
    prompt = [2, 5, 7]
    cached = sample(m, prompt, 25, temperature, top_k, seed=11)
    rerun = sample_rerun(m, prompt, 25, temperature, top_k, seed=11)
    assert cached == rerun and len(cached) == 25


def test_sampling_stops_at_eos():
    m = model()
    out = sample(m, [1], 200, 1.0, None, stop_id=4, seed=0)
    assert len(out) == 200 or out[-1] == 4


def test_adaptive_log_probs_are_normalised():
    m = model(adaptive_cutoffs=[10, 20])
    logp, _ = m.step(torch.randint(0, 30, (2, 5)))
    assert torch.allclose(logp.exp().sum(-1), torch.ones(2, 5), atol=1e-5)


def test_adaptive_input_needs_the_adaptive_cutoffs():
    from seqlit.errors import SeqlitError

    with pytest.raises(SeqlitError, match="adaptive_input needs model.adaptive_cutoffs"):
        model(adaptive_input=True)


def test_tied_adaptive_input_shares_the_softmax_clusters_and_needs_the_input():
    from seqlit.errors import SeqlitError

    m = LanguageModel(data_spec=SPEC, **with_backbone(LanguageModel, embedding_dim=16, hidden_size=16, num_layers=1,
                      adaptive_cutoffs=[10, 20], adaptive_input=True, tie_weights=True))
    assert m.embedding.tables[0].weight is m.adaptive.head.weight
    assert m.embedding.tables[2].weight is m.adaptive.tail[1][1].weight
    n_untied = sum(p.numel() for p in LanguageModel(data_spec=SPEC, **with_backbone(LanguageModel, embedding_dim=16, hidden_size=16, num_layers=1,
                                                    adaptive_cutoffs=[10, 20], adaptive_input=True)).parameters())
    assert sum(p.numel() for p in m.parameters()) == n_untied - (10 * 16 + 10 * 4 + 10 * 1)
    with pytest.raises(SeqlitError, match="needs model.adaptive_input"):
        model(adaptive_cutoffs=[10, 20], tie_weights=True)


def test_cosine_budget_is_steps_or_max_time_whichever_ends_first():
    import pytorch_lightning as pl
    from pytorch_lightning.callbacks import Timer

    m = model(lr_schedule="cosine")
    m.trainer = pl.Trainer(max_epochs=-1, max_steps=1000, max_time={"seconds": 100}, logger=False,
                           enable_checkpointing=False, enable_progress_bar=False)
    timer = next(c for c in m.trainer.callbacks if isinstance(c, Timer))
    timer.time_elapsed = lambda stage="train": 25.0
    assert m.progress(100) == pytest.approx(0.25)  # the clock is ahead of the steps
    assert m.progress(500) == pytest.approx(0.5)  # the steps are ahead of the clock
    assert m.progress(5000) == 1.0
    scheduler = m.configure_optimizers()["lr_scheduler"]
    assert scheduler["interval"] == "step" and scheduler["scheduler"].get_last_lr()[0] == pytest.approx(m.lr * 0.5 * (1 + math.cos(math.pi * 0.25)))
