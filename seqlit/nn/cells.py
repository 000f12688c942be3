"""One time step of each recurrent cell, in the course's notation.

The weights are torch's own `weight_ih` / `weight_hh` / `bias_ih` / `bias_hh`, gate blocks in torch's order,
so a model trained with `torch.nn.RNN/GRU/LSTM` and one stepped through these cells are the same model, number
for number. The cells take `wx` = Wax x<t> + b_ih, computed by the caller for all steps at once (one large
matrix product); only Waa a<t-1> is computed step by step. Shapes: `wx` (B, G*H) with G gate blocks, states
(B, H), `w_hh` (G*H, H), `b_hh` (G*H,). Torch's two biases sum to the course's one, except for the GRU,
whose candidate uses `b_hn` inside the relevance gate's product.
"""

import torch
import torch.nn.functional as F
from torch import Tensor

NONLINEARITIES = {"tanh": torch.tanh, "relu": torch.relu}


def rnn_cell(wx: Tensor, a_prev: Tensor, w_hh: Tensor, b_hh: Tensor, nonlinearity: str = "tanh") -> Tensor:
    """Plain RNN step.

        a<t> = g(Waa a<t-1> + Wax x<t> + ba),    g = tanh (default) or relu

    with ``wx = Wax x<t> + b_ih``, ``Waa = w_hh`` and ``ba = b_ih + b_hh``.
    Same as one step of ``torch.nn.RNN(nonlinearity=...)``.
    """
    g = NONLINEARITIES[nonlinearity]
    return g(wx + F.linear(a_prev, w_hh, b_hh))


def gru_cell(wx: Tensor, a_prev: Tensor, w_hh: Tensor, b_hh: Tensor) -> Tensor:
    """GRU step, numerically identical to ``torch.nn.GRU``.

    The course writes (c<t> = a<t> for the GRU):

        Γr    = σ(Wr [c<t-1>, x<t>] + br)            relevance gate
        Γu    = σ(Wu [c<t-1>, x<t>] + bu)            update gate
        c̃<t>  = tanh(Wc [Γr * c<t-1>, x<t>] + bc)     candidate
        c<t>  = Γu * c̃<t> + (1 - Γu) * c<t-1>

    We follow torch (and cuDNN), so checkpoints move between backends unchanged:

        r  = σ(W_ir x + b_ir + W_hr h + b_hr)                  Γr = r
        z  = σ(W_iz x + b_iz + W_hz h + b_hz)                  Γu = 1 - z
        n  = tanh(W_in x + b_in + r * (W_hn h + b_hn))         c̃  = n
        h' = (1 - z) * n + z * h

    torch's ``z`` keeps the *old* state (Γu = 1 - z), and the relevance gate multiplies ``W_hn h + b_hn`` after
    the product (so the three recurrent products are one matrix multiply).
    """
    x_r, x_z, x_n = wx.chunk(3, dim=-1)
    h_r, h_z, h_n = F.linear(a_prev, w_hh, b_hh).chunk(3, dim=-1)
    relevance = torch.sigmoid(x_r + h_r)  # Γr
    keep = torch.sigmoid(x_z + h_z)  # z = 1 - Γu
    candidate = torch.tanh(x_n + relevance * h_n)  # c̃<t>
    # (1 - z) * c̃ + z * a<t-1>, as one op in the same form torch uses; lerp wants one dtype, and under
    # autocast the gates come out in bf16/fp16 while the state stays in its own (fp32) dtype
    return torch.lerp(candidate.to(a_prev.dtype), a_prev, keep.to(a_prev.dtype))


def lstm_cell(wx: Tensor, a_prev: Tensor, c_prev: Tensor, w_hh: Tensor, b_hh: Tensor) -> tuple[Tensor, Tensor]:
    """LSTM step, numerically identical to ``torch.nn.LSTM``.

        Γu    = σ(Wu [a<t-1>, x<t>] + bu)      update (torch: input gate i)
        Γf    = σ(Wf [a<t-1>, x<t>] + bf)      forget gate (torch: f)
        c̃<t>  = tanh(Wc [a<t-1>, x<t>] + bc)   candidate (torch: g)
        Γo    = σ(Wo [a<t-1>, x<t>] + bo)      output gate (torch: o)
        c<t>  = Γu * c̃<t> + Γf * c<t-1>
        a<t>  = Γo * tanh(c<t>)

    Torch stacks the gate blocks in the order i, f, g, o.  Returns
    ``(a<t>, c<t>)``.
    """
    gates = wx + F.linear(a_prev, w_hh, b_hh)
    x_u, x_f, x_c, x_o = gates.chunk(4, dim=-1)
    update, forget, output = torch.sigmoid(x_u), torch.sigmoid(x_f), torch.sigmoid(x_o)
    candidate = torch.tanh(x_c)
    c = update * candidate + forget * c_prev
    return output * torch.tanh(c), c
