"""Each course-notation cell is one step of torch's own cell, number for number."""

import pytest
import torch
import torch.nn.functional as F

from seqlit.nn.cells import gru_cell, lstm_cell, rnn_cell

B, I, H = 3, 2, 4


def _inputs(cell):
    gen = torch.Generator().manual_seed(0)
    x = torch.randn(B, I, generator=gen, dtype=torch.float64)
    a = torch.randn(B, H, generator=gen, dtype=torch.float64)
    c = torch.randn(B, H, generator=gen, dtype=torch.float64)
    wx = F.linear(x, cell.weight_ih, cell.bias_ih)
    return x, a, c, wx


@pytest.mark.parametrize("nonlinearity", ["tanh", "relu"])
def test_rnn_cell_matches_torch(nonlinearity):
    cell = torch.nn.RNNCell(I, H, nonlinearity=nonlinearity).double()
    x, a, _, wx = _inputs(cell)
    expected = cell(x, a)
    got = rnn_cell(wx, a, cell.weight_hh, cell.bias_hh, nonlinearity)
    torch.testing.assert_close(got, expected, atol=1e-12, rtol=1e-12)


def test_gru_cell_matches_torch():
    cell = torch.nn.GRUCell(I, H).double()
    x, a, _, wx = _inputs(cell)
    torch.testing.assert_close(gru_cell(wx, a, cell.weight_hh, cell.bias_hh), cell(x, a), atol=1e-12, rtol=1e-12)


def test_gru_course_update_gate_is_one_minus_torch_z():
    """a<t> = Γu * c̃ + (1 - Γu) * a<t-1>, with Γu = 1 - z of torch."""
    cell = torch.nn.GRUCell(I, H).double()
    x, a, _, wx = _inputs(cell)
    x_r, x_z, x_n = wx.chunk(3, dim=-1)
    h_r, h_z, h_n = F.linear(a, cell.weight_hh, cell.bias_hh).chunk(3, dim=-1)
    gamma_r = torch.sigmoid(x_r + h_r)
    gamma_u = 1 - torch.sigmoid(x_z + h_z)
    candidate = torch.tanh(x_n + gamma_r * h_n)
    course = gamma_u * candidate + (1 - gamma_u) * a
    torch.testing.assert_close(gru_cell(wx, a, cell.weight_hh, cell.bias_hh), course, atol=1e-12, rtol=1e-12)


def test_lstm_cell_matches_torch():
    cell = torch.nn.LSTMCell(I, H).double()
    x, a, c, wx = _inputs(cell)
    expected_a, expected_c = cell(x, (a, c))
    got_a, got_c = lstm_cell(wx, a, c, cell.weight_hh, cell.bias_hh)
    torch.testing.assert_close(got_a, expected_a, atol=1e-12, rtol=1e-12)
    torch.testing.assert_close(got_c, expected_c, atol=1e-12, rtol=1e-12)


def test_gru_cell_keeps_the_state_dtype_under_autocast():
    """Under bf16 autocast the gates come out in bf16; the step must still run and keep the state's dtype."""
    wx, a = torch.randn(2, 3 * 4), torch.randn(2, 4)
    w_hh, b_hh = torch.randn(3 * 4, 4), torch.randn(3 * 4)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        out = gru_cell(wx.bfloat16(), a, w_hh, b_hh)
    assert out.dtype == a.dtype and torch.isfinite(out).all()
