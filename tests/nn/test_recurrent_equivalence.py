"""The scratch backend is the same function as torch's fused modules.

For every kind x direction x depth, with and without padding, a scratch and a
fused `Recurrent` sharing one state dict must agree on outputs, final states
and every gradient.
"""

import pytest
import torch

from seqlit.nn import Recurrent

B, T, I, H = 3, 5, 2, 4
TOLERANCE = {torch.float64: 1e-10, torch.float32: 1e-5}


def _pair(kind, layers, bidirectional, dtype, **kwargs):
    torch.manual_seed(0)
    fused = Recurrent(I, kind, H, layers, bidirectional, **kwargs).to(dtype)
    scratch = Recurrent(I, kind, H, layers, bidirectional, backend="scratch", **kwargs).to(dtype)
    scratch.load_state_dict(fused.state_dict())
    return fused, scratch


def _as_tuple(state):
    return state if isinstance(state, tuple) else (state,)


def _run(model, x, lengths, probes):
    """Forward, then backward through a loss that touches every output and state."""
    x = x.clone().requires_grad_(True)
    outputs, final = model(x, lengths)
    final = _as_tuple(final)
    loss = (outputs * probes[0]).sum() + sum((f * p).sum() for f, p in zip(final, probes[1:]))
    loss.backward()
    grads = {name: p.grad for name, p in model.named_parameters()}
    return outputs, final, x.grad, grads


@pytest.mark.parametrize("dtype", [torch.float64, torch.float32], ids=["f64", "f32"])
@pytest.mark.parametrize("padded", [False, True], ids=["full", "padded"])
@pytest.mark.parametrize("layers", [1, 2, 3])
@pytest.mark.parametrize("bidirectional", [False, True], ids=["uni", "bi"])
@pytest.mark.parametrize("kind", ["rnn", "gru", "lstm"])
def test_scratch_matches_fused(kind, bidirectional, layers, padded, dtype):
    fused, scratch = _pair(kind, layers, bidirectional, dtype)
    gen = torch.Generator().manual_seed(1)
    x = torch.randn(B, T, I, generator=gen, dtype=dtype)
    lengths = torch.tensor([5, 2, 4]) if padded else None
    state_shape = (layers * fused.num_directions, B, H)
    probes = [torch.randn(B, T, fused.output_size, generator=gen, dtype=dtype)]
    probes += [torch.randn(state_shape, generator=gen, dtype=dtype) for _ in range(2)]

    out_f, final_f, dx_f, grads_f = _run(fused, x, lengths, probes)
    out_s, final_s, dx_s, grads_s = _run(scratch, x, lengths, probes)

    tol = dict(atol=TOLERANCE[dtype], rtol=TOLERANCE[dtype])
    assert out_s.shape == out_f.shape == (B, T, fused.output_size)
    torch.testing.assert_close(out_s, out_f, **tol)
    for s, f in zip(final_s, final_f, strict=True):
        assert s.shape == f.shape == state_shape
        torch.testing.assert_close(s, f, **tol)
    torch.testing.assert_close(dx_s, dx_f, **tol)
    assert grads_s.keys() == grads_f.keys()
    for name in grads_f:
        torch.testing.assert_close(grads_s[name], grads_f[name], **tol, msg=lambda m: f"{name}: {m}")
    if padded:
        assert (out_s[1, 2:] == 0).all() and (out_f[1, 2:] == 0).all()


@pytest.mark.parametrize("kind", ["rnn", "gru", "lstm"])
def test_explicit_initial_state_matches_fused(kind):
    fused, scratch = _pair(kind, 2, True, torch.float64)
    gen = torch.Generator().manual_seed(2)
    x = torch.randn(B, T, I, generator=gen, dtype=torch.float64)
    shape = (4, B, H)
    state = tuple(torch.randn(shape, generator=gen, dtype=torch.float64) for _ in range(2))
    state = state if kind == "lstm" else state[0]
    lengths = torch.tensor([3, 5, 1])
    out_f, final_f = fused(x, lengths, state)
    out_s, final_s = scratch(x, lengths, state)
    torch.testing.assert_close(out_s, out_f, atol=1e-10, rtol=1e-10)
    for s, f in zip(_as_tuple(final_s), _as_tuple(final_f), strict=True):
        torch.testing.assert_close(s, f, atol=1e-10, rtol=1e-10)


def test_relu_rnn_matches_fused():
    fused, scratch = _pair("rnn", 2, True, torch.float64, nonlinearity="relu")
    x = torch.randn(B, T, I, dtype=torch.float64)
    out_f, final_f = fused(x)
    out_s, final_s = scratch(x)
    torch.testing.assert_close(out_s, out_f, atol=1e-10, rtol=1e-10)
    torch.testing.assert_close(final_s, final_f, atol=1e-10, rtol=1e-10)
    assert (out_s >= 0).all()


def test_dropout_in_eval_matches_fused():
    fused, scratch = _pair("gru", 3, True, torch.float64, dropout=0.5)
    fused.eval(), scratch.eval()
    x = torch.randn(B, T, I, dtype=torch.float64)
    torch.testing.assert_close(scratch(x)[0], fused(x)[0], atol=1e-10, rtol=1e-10)
