"""Memory-friendly initialisation: the keep gate's bias and orthogonal recurrent weights."""

import pytest
import torch

from seqlit.nn import Recurrent


@pytest.mark.parametrize("kind", ["gru", "lstm"])
def test_keep_bias_shifts_only_the_keep_gate(kind):
    torch.manual_seed(0)
    plain = Recurrent(3, kind, 5, num_layers=2, bidirectional=True)
    torch.manual_seed(0)
    kept = Recurrent(3, kind, 5, num_layers=2, bidirectional=True, keep_bias=2.0)
    for (name, a), (_, b) in zip(plain.rnn.named_parameters(), kept.rnn.named_parameters()):
        if name.startswith("bias_"):
            shift = (b - a).detach().view(-1, 5)
            expected = torch.zeros_like(shift)
            expected[1] = 1.0  # the GRU's z and the LSTM's forget gate are chunk 1; half on each bias vector
            assert torch.allclose(shift, expected), name


def test_keep_bias_makes_the_gru_remember_at_initialisation():
    torch.manual_seed(0)
    x = torch.randn(4, 50, 3)
    plain, kept = Recurrent(3, "gru", 8), Recurrent(3, "gru", 8, keep_bias=6.0)
    kept.load_state_dict(plain.state_dict())
    kept.init_memory(keep_bias=6.0)
    h0 = torch.randn(1, 4, 8)
    drift = lambda r: (r(x, state=h0)[1] - h0).norm()  # noqa: E731
    assert drift(kept) < 0.5 * drift(plain)


def test_orthogonal_recurrent_blocks():
    r = Recurrent(3, "lstm", 6, orthogonal_init=True)
    for block in r.rnn.weight_hh_l0.detach().split(6):
        assert torch.allclose(block @ block.T, torch.eye(6), atol=1e-5)


def test_keep_bias_needs_a_gate():
    with pytest.raises(ValueError, match="gated cell"):
        Recurrent(3, "rnn", 4, keep_bias=1.0)
