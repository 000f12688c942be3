"""The gradient-flow callback's per-step norms equal ‖∂L/∂a<t>‖ computed directly with autograd."""

from __future__ import annotations

import copy

import pytest
import pytorch_lightning as pl
import torch
from torch import nn
from torch.utils.data import DataLoader

from seqlit.callbacks.gradient_flow import GradientFlow
from seqlit.nn import Recurrent


class Tiny(pl.LightningModule):
    def __init__(self, kind: str, backend: str):
        super().__init__()
        self.embedding = nn.Embedding(10, 4)
        self.rnn = Recurrent(kind, 4, 6, backend=backend)
        self.out = nn.Linear(6, 2)

    def loss(self, batch):
        outputs, _ = self.rnn(self.embedding(batch["input_ids"]), lengths=batch["lengths"])
        last = outputs[torch.arange(outputs.size(0)), batch["lengths"] - 1]
        return nn.functional.cross_entropy(self.out(last), batch["labels"]), outputs

    def training_step(self, batch, batch_idx):
        return self.loss(batch)[0]

    def configure_optimizers(self):
        return torch.optim.SGD(self.parameters(), lr=0.1)


@pytest.mark.parametrize("kind, backend", [("rnn", "fused"), ("gru", "scratch"), ("lstm", "fused")])
def test_norms_match_autograd(tmp_path, kind, backend):
    torch.manual_seed(0)
    batch = {"input_ids": torch.randint(0, 10, (5, 7)), "lengths": torch.tensor([7, 3, 5, 7, 1]),
             "labels": torch.randint(0, 2, (5,))}
    model = Tiny(kind, backend)
    reference = copy.deepcopy(model)
    loss, outputs = reference.loss(batch)
    (grad,) = torch.autograd.grad(loss, outputs)
    expected = torch.stack([
        torch.stack([grad[b, t].norm() for b in range(5) if batch["lengths"][b] > t]).mean() for t in range(7)
    ])
    flow = GradientFlow(every_n_steps=1, save_png=False)
    trainer = pl.Trainer(max_steps=1, logger=False, enable_checkpointing=False, enable_progress_bar=False,
                         enable_model_summary=False, callbacks=[flow], default_root_dir=tmp_path)
    trainer.fit(model, DataLoader([batch], batch_size=None))
    (step, norms), = flow.history
    assert step == 0
    assert torch.allclose(norms, expected, rtol=1e-5, atol=1e-8)
    assert norms[-1] > 0
