"""`Recurrent`'s contract: padding, initial state, checkpoints, arguments."""

import io
import re
import warnings

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

import seqlit.nn.scratch as scratch
from seqlit.errors import SeqlitError
from seqlit.nn import Recurrent

B, T, I, H = 3, 5, 2, 4
BACKENDS = ["fused", "scratch"]
KINDS = ["rnn", "gru", "lstm"]


def _model(kind="gru", backend="fused", **kwargs):
    torch.manual_seed(0)
    return Recurrent(I, kind, H, backend=backend, **kwargs).double()


def _states(final):
    return final if isinstance(final, tuple) else (final,)


@settings(max_examples=20, deadline=None)
@given(
    kind=st.sampled_from(KINDS),
    backend=st.sampled_from(BACKENDS),
    bidirectional=st.booleans(),
    lengths=st.lists(st.integers(1, 6), min_size=1, max_size=4),
    extra_pad=st.integers(0, 3),
    seed=st.integers(0, 2**16),
)
def test_padding_never_changes_a_sequence(kind, backend, bidirectional, lengths, extra_pad, seed):
    """Each sequence in a padded batch gives what it gives alone, unpadded."""
    model = _model(kind, backend, num_layers=2, bidirectional=bidirectional)
    gen = torch.Generator().manual_seed(seed)
    steps = max(lengths) + extra_pad
    x = torch.randn(len(lengths), steps, I, generator=gen, dtype=torch.float64)  # random padding, not zeros
    outputs, final = model(x, torch.tensor(lengths))
    for b, length in enumerate(lengths):
        alone_out, alone_final = model(x[b : b + 1, :length])
        torch.testing.assert_close(outputs[b, :length], alone_out[0], atol=1e-12, rtol=1e-12)
        assert (outputs[b, length:] == 0).all()
        for batched, single in zip(_states(final), _states(alone_final), strict=True):
            torch.testing.assert_close(batched[:, b], single[:, 0], atol=1e-12, rtol=1e-12)


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("kind", KINDS)
def test_default_initial_state_is_zero(kind, backend):
    model = _model(kind, backend, num_layers=2, bidirectional=True)
    x = torch.randn(B, T, I, dtype=torch.float64)
    zeros = torch.zeros(4, B, H, dtype=torch.float64)
    explicit = (zeros, zeros) if kind == "lstm" else zeros
    torch.testing.assert_close(model(x)[0], model(x, state=explicit)[0], atol=0, rtol=0)
    other = tuple(torch.ones_like(zeros) for _ in _states(explicit))
    other = other if kind == "lstm" else other[0]
    assert not torch.allclose(model(x)[0], model(x, state=other)[0])


@pytest.mark.parametrize("kind", KINDS)
def test_state_dict_is_torchs_layout_for_both_backends(kind):
    fused, scratch = (Recurrent(I, kind, H, 2, True, backend=b) for b in BACKENDS)
    keys = {name: t.shape for name, t in fused.state_dict().items()}
    assert keys == {name: t.shape for name, t in scratch.state_dict().items()}
    gates = {"rnn": 1, "gru": 3, "lstm": 4}[kind]
    assert keys["rnn.weight_ih_l0"] == (gates * H, I)
    assert keys["rnn.weight_hh_l1_reverse"] == (gates * H, H)
    assert keys["rnn.bias_ih_l1"] == keys["rnn.bias_hh_l0_reverse"] == (gates * H,)
    assert len(keys) == 2 * 2 * 4


@pytest.mark.parametrize("trained_with", BACKENDS)
def test_checkpoint_moves_between_backends(trained_with):
    other = "scratch" if trained_with == "fused" else "fused"
    model = _model("lstm", trained_with, num_layers=2, bidirectional=True)
    x = torch.randn(B, T, I, dtype=torch.float64)
    lengths = torch.tensor([5, 3, 1])
    optimizer = torch.optim.SGD(model.parameters(), lr=0.5)
    model(x, lengths)[0].square().sum().backward()
    optimizer.step()

    buffer = io.BytesIO()
    torch.save(model.state_dict(), buffer)
    buffer.seek(0)
    restored = Recurrent(I, "lstm", H, 2, True, backend=other).double()
    restored.load_state_dict(torch.load(buffer))
    torch.testing.assert_close(restored(x, lengths)[0], model(x, lengths)[0], atol=1e-10, rtol=1e-10)

    model.backend = other  # a live module can switch too
    torch.testing.assert_close(model(x, lengths)[0], restored(x, lengths)[0], atol=0, rtol=0)


@pytest.mark.parametrize("backend", BACKENDS)
def test_per_step_activations_take_gradients(backend):
    """∂L/∂a<t> is available for every t via outputs.retain_grad()."""
    model = _model("gru", backend)
    outputs, _ = model(torch.randn(B, T, I, dtype=torch.float64))
    assert outputs.requires_grad
    outputs.retain_grad()
    outputs[:, -1].sum().backward()
    assert outputs.grad.shape == (B, T, H)
    assert (outputs.grad[:, -1] == 1).all() and (outputs.grad[:, :-1] == 0).all()


@pytest.mark.parametrize("backend", BACKENDS)
def test_dropout_only_between_layers(backend):
    model = _model("gru", backend, num_layers=2, dropout=0.9).train()
    x = torch.randn(B, T, I, dtype=torch.float64)
    train_out = model(x)[0]
    # Dropout after the last layer would zero outputs or push them past tanh's range.
    assert (train_out != 0).all() and (train_out.abs() < 1).all()
    assert not torch.allclose(train_out, model.eval()(x)[0])


def test_attributes():
    model = Recurrent(I, "lstm", H, num_layers=3, bidirectional=True)
    assert (model.num_directions, model.output_size) == (2, 2 * H)
    assert Recurrent(I, "rnn", H).output_size == H
    outputs, (a, c) = model(torch.randn(B, T, I))
    assert outputs.shape == (B, T, 2 * H) and a.shape == c.shape == (6, B, H)


def test_fused_forward_is_warning_free():
    model = _model("gru", "fused", num_layers=2, bidirectional=True)
    model.load_state_dict(_model("gru", "scratch", num_layers=2, bidirectional=True).state_dict())
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        model(torch.randn(B, T, I, dtype=torch.float64), torch.tensor([5, 1, 3]))


def test_compiled_scratch_matches_eager(monkeypatch):
    """The chunked compiled loop traces as one graph and gives the eager results.

    Tiny chunks so that T=5 runs two compiled chunks and one eager step.  The
    ``aot_eager`` backend traces forward and backward exactly as inductor would
    be fed, without its C++ build (tens of seconds); the bench runs inductor.
    """
    monkeypatch.setattr(scratch, "COMPILE_CHUNK", 2)
    traced = torch.compile(scratch._steps, backend="aot_eager", fullgraph=True)
    monkeypatch.setattr(scratch, "_compiled_steps", lambda: traced)
    x = torch.randn(B, T, I, dtype=torch.float64)
    lengths = torch.tensor([5, 2, 4])
    results = []
    for compile in (True, False):
        model = _model("gru", "scratch", compile=compile)
        outputs, final = model(x, lengths)
        (outputs.sum() + final.sum()).backward()
        results.append((outputs, final, *(p.grad for p in model.parameters())))
    for compiled, eager in zip(*results, strict=True):
        torch.testing.assert_close(compiled, eager, atol=1e-12, rtol=1e-12)


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"kind": "lstmm"}, "Recurrent: kind must be one of 'rnn', 'gru', 'lstm', got 'lstmm'"),
        ({"backend": "cudnn"}, "Recurrent: backend must be one of 'fused', 'scratch', got 'cudnn'"),
        ({"nonlinearity": "sigmoid"}, "Recurrent: nonlinearity must be one of 'tanh', 'relu', got 'sigmoid'"),
        ({"input_size": 0}, "Recurrent: input_size must be a positive integer, got 0"),
        ({"hidden_size": -4}, "Recurrent: hidden_size must be a positive integer, got -4"),
        ({"hidden_size": 4.0}, "Recurrent: hidden_size must be a positive integer, got 4.0"),
        ({"num_layers": 0}, "Recurrent: num_layers must be a positive integer, got 0"),
        ({"num_layers": True}, "Recurrent: num_layers must be a positive integer, got True"),
        ({"dropout": 1.0}, "Recurrent: dropout must be a number in [0, 1), got 1.0"),
        ({"dropout": -0.1}, "Recurrent: dropout must be a number in [0, 1), got -0.1"),
        ({"dropout": "0.5"}, "Recurrent: dropout must be a number in [0, 1), got '0.5'"),
        ({"weight_dropout": 1.0}, "Recurrent: weight_dropout must be a number in [0, 1), got 1.0"),
        ({"kind": "gru", "nonlinearity": "relu"}, "Recurrent: nonlinearity applies only to kind='rnn'"),
        ({"compile": True}, "Recurrent: compile=True applies only to backend='scratch'"),
    ],
)
def test_bad_arguments_are_named(kwargs, message):
    args = {"kind": "rnn", "input_size": I, "hidden_size": H, **kwargs}
    with pytest.raises((ValueError, SeqlitError), match=re.escape(message)):
        Recurrent(**args)


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize(
    "call, message",
    [
        (lambda m: m(torch.randn(B, T)), "Recurrent: x must be a (B, T, 2) tensor"),
        (lambda m: m(torch.randn(B, T, 3)), "Recurrent: x must be a (B, T, 2) tensor"),
        (lambda m: m(torch.randn(B, T, I), torch.tensor([5, 0, 2])), "Recurrent: lengths must lie in [1, T=5], got"),
        (lambda m: m(torch.randn(B, T, I), torch.tensor([6, 1, 2])), "Recurrent: lengths must lie in [1, T=5]"),
        (lambda m: m(torch.randn(B, T, I), torch.tensor([5, 1])), "Recurrent: lengths must be 3 integers"),
        (lambda m: m(torch.randn(B, T, I), torch.tensor([5.0, 1, 2])), "Recurrent: lengths must be 3 integers"),
        (lambda m: m(torch.randn(B, T, I), state=torch.zeros(1, B, H)), "Recurrent: state must be an (a, c) pair"),
        (lambda m: m(torch.randn(B, T, I), state=(torch.zeros(2, B, H),) * 2), "state must be an (a, c) pair of (1, 3, 4)"),
    ],
)
def test_bad_inputs_are_named(backend, call, message):
    model = Recurrent(I, "lstm", H, backend=backend)
    with pytest.raises(ValueError, match=re.escape(message)):
        call(model)
