"""The masked path ONNX export uses (`Recurrent.masked`) computes what the packed one does: same outputs
(zero at padding) and the same final activations, for every kind, direction and depth; an LSTM's final c
where a row fills the batch (NaN where the kernel cannot expose it)."""

from __future__ import annotations

import pytest
import torch

from seqlit.nn import Recurrent


@pytest.mark.parametrize("kind", ["rnn", "gru", "lstm"])
@pytest.mark.parametrize("bidirectional", [False, True])
@pytest.mark.parametrize("layers", [1, 2])
def test_masked_equals_packed(kind, bidirectional, layers):
    torch.manual_seed(0)
    rnn = Recurrent(5, kind, hidden_size=4, num_layers=layers, bidirectional=bidirectional).eval()
    x, lengths = torch.randn(4, 7, 5), torch.tensor([7, 3, 1, 5])
    x[1, 3:] = 100.0  # whatever padding holds must not leak into a real step
    state = torch.randn(layers * rnn.num_directions, 4, 4)
    start = (state, torch.randn_like(state)) if kind == "lstm" else state
    for initial in (None, start):
        want_out, want_state = rnn(x, lengths, initial)
        rnn.masked = True
        got_out, got_state = rnn(x, lengths, initial)
        rnn.masked = False
        torch.testing.assert_close(got_out, want_out, rtol=1e-5, atol=1e-6)
        assert torch.equal(got_out[1, 3:], torch.zeros_like(got_out[1, 3:]))
        if kind != "lstm":
            torch.testing.assert_close(got_state, want_state, rtol=1e-5, atol=1e-6)
            continue
        torch.testing.assert_close(got_state[0], want_state[0], rtol=1e-5, atol=1e-6)
        full = lengths == 7
        torch.testing.assert_close(got_state[1][:, full], want_state[1][:, full], rtol=1e-5, atol=1e-6)
        assert torch.isnan(got_state[1][:, ~full]).all()
