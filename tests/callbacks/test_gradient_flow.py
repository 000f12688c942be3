"""The gradient-flow callback's per-step norms equal ‖∂L/∂a<t>‖ (the total derivative through
time), computed independently by unrolling torch's own cells and asking autograd."""

from __future__ import annotations

import pytest
import pytorch_lightning as pl
import torch
from torch import nn
from torch.utils.data import DataLoader

from seqlit.callbacks.gradient_flow import GradientFlow
from seqlit.nn import Recurrent

CELLS = {"rnn": nn.RNNCell, "gru": nn.GRUCell, "lstm": nn.LSTMCell}


class Tiny(pl.LightningModule):
    """Embedding -> one-layer Recurrent -> classify from the last state."""

    def __init__(self, kind: str, backend: str):
        super().__init__()
        self.embedding = nn.Embedding(10, 4)
        self.rnn = Recurrent(4, kind, 6, backend=backend)
        self.out = nn.Linear(6, 2)

    def training_step(self, batch, batch_idx):
        outputs, _ = self.rnn(self.embedding(batch["input_ids"]))
        return nn.functional.cross_entropy(self.out(outputs[:, -1]), batch["labels"])

    def configure_optimizers(self):
        return torch.optim.SGD(self.parameters(), lr=0.1)


def reference_norms(model: Tiny, kind: str, batch) -> torch.Tensor:
    """Unroll torch's cell with the model's weights, keep every a<t>, and differentiate."""
    cell = CELLS[kind](4, 6)
    with torch.no_grad():
        for name in ("weight_ih", "weight_hh", "bias_ih", "bias_hh"):
            getattr(cell, name).copy_(getattr(model.rnn.rnn, f"{name}_l0"))
    x = model.embedding(batch["input_ids"])
    a = torch.zeros(x.size(0), 6)
    c = torch.zeros_like(a)
    states = []
    for t in range(x.size(1)):
        if kind == "lstm":
            a, c = cell(x[:, t], (a, c))
        else:
            a = cell(x[:, t], a)
        a.retain_grad()
        states.append(a)
    nn.functional.cross_entropy(model.out(a), batch["labels"]).backward()
    return torch.stack([s.grad.norm(dim=-1).mean() for s in states])


@pytest.mark.parametrize("kind, backend", [("rnn", "fused"), ("gru", "scratch"), ("gru", "fused"), ("lstm", "fused")])
def test_norms_match_autograd_through_time(tmp_path, kind, backend):
    torch.manual_seed(0)
    batch = {"input_ids": torch.randint(0, 10, (5, 9)), "labels": torch.randint(0, 2, (5,))}
    model = Tiny(kind, backend)
    expected = reference_norms(model, kind, batch)
    flow = GradientFlow(every_n_steps=1, save_png=False)
    trainer = pl.Trainer(max_steps=1, logger=False, enable_checkpointing=False, enable_progress_bar=False,
                         enable_model_summary=False, callbacks=[flow], default_root_dir=tmp_path)
    trainer.fit(model, DataLoader([batch], batch_size=None))
    (step, norms), = flow.history
    assert step == 0
    assert torch.allclose(norms, expected, rtol=1e-4, atol=1e-9)
    assert (norms[:-1] > 0).all(), "earlier steps must receive gradient through the recurrence"
    assert model.rnn.probe is False and model.rnn.backend == backend


def test_probes_do_not_change_values():
    torch.manual_seed(0)
    rnn = Recurrent(3, "lstm", 4, num_layers=2, bidirectional=True)
    x, lengths = torch.randn(3, 6, 3), torch.tensor([6, 2, 4])
    plain, _ = rnn(x, lengths=lengths)
    rnn.probe = True
    probed, _ = rnn(x, lengths=lengths)
    probed.sum().backward()
    assert torch.allclose(plain, probed, atol=1e-6)
    assert rnn.probe_gradients().shape == (3, 6, 8)
