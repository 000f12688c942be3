"""Weight dropout (DropConnect on Waa): one mask per forward, the same at every step, on both backends."""

import copy

import pytest
import torch
import torch.nn.functional as F

from seqlit.nn import Recurrent

B, T, I, H = 3, 6, 2, 4
P = 0.5


def _model(kind, backend, **kwargs):
    torch.manual_seed(0)
    return Recurrent(I, kind, H, backend=backend, weight_dropout=P, **kwargs).double()


def _dropped_copy(model, seed):
    """`model` in eval mode with the Waa matrices that a training forward seeded with `seed` draws."""
    torch.manual_seed(seed)
    masked = copy.deepcopy(model).eval()
    with torch.no_grad():
        for name, param in masked.rnn.named_parameters():
            if name.startswith("weight_hh"):
                param.copy_(F.dropout(param, P))
    return masked


@pytest.mark.parametrize("backend", ["fused", "scratch"])
@pytest.mark.parametrize("kind", ["rnn", "gru", "lstm"])
def test_one_mask_for_every_time_step(kind, backend):
    """Training output = a fixed dropped Waa applied at every step (a per-step mask would differ)."""
    model = _model(kind, backend, num_layers=2, bidirectional=True).train()
    x = torch.randn(B, T, I, dtype=torch.float64)
    torch.manual_seed(7)
    outputs, final = model(x)
    expected, expected_final = _dropped_copy(model, 7)(x)
    torch.testing.assert_close(outputs, expected, atol=1e-12, rtol=0)
    assert not torch.allclose(outputs, model.eval()(x)[0])


def test_backends_agree_under_the_same_seed():
    fused, scratch = _model("lstm", "fused", num_layers=2).train(), _model("lstm", "scratch", num_layers=2).train()
    x = torch.randn(B, T, I, dtype=torch.float64)
    lengths = torch.tensor([6, 2, 4])
    torch.manual_seed(3)
    a = fused(x, lengths)[0]
    torch.manual_seed(3)
    b = scratch(x, lengths)[0]
    torch.testing.assert_close(a, b, atol=1e-12, rtol=0)


@pytest.mark.parametrize("backend", ["fused", "scratch"])
def test_gradient_reaches_only_the_kept_weights(backend):
    model = _model("gru", backend).train()
    x = torch.randn(B, T, I, dtype=torch.float64)
    torch.manual_seed(11)
    model(x)[0].sum().backward()
    dropped = _dropped_copy(model, 11).rnn.weight_hh_l0 == 0
    grad = model.rnn.weight_hh_l0.grad
    assert dropped.any() and (grad[dropped] == 0).all() and (grad[~dropped] != 0).all()


def test_parameters_and_eval_untouched():
    model = _model("lstm", "fused")
    before = copy.deepcopy(model.state_dict())
    x = torch.randn(B, T, I, dtype=torch.float64)
    model.train()(x)
    for name, value in model.state_dict().items():
        assert torch.equal(value, before[name]), name
    plain = Recurrent(I, "lstm", H).double()
    plain.load_state_dict(before)
    torch.testing.assert_close(model.eval()(x)[0], plain(x)[0], atol=0, rtol=0)
