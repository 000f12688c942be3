"""NaN/Inf loss or gradients stop training with a clear message (or skip the step, by config)."""

from __future__ import annotations

import pytest
import pytorch_lightning as pl
import torch
from pytorch_lightning.callbacks import ModelCheckpoint
from torch import nn
from torch.utils.data import DataLoader

from seqlit.callbacks.numerical_guard import NumericalGuard
from seqlit.errors import SeqlitError


class Poisoned(pl.LightningModule):
    """A linear model whose loss turns NaN at the given steps."""

    def __init__(self, bad_steps: set[int]):
        super().__init__()
        self.lin = nn.Linear(3, 1)
        self.bad_steps = bad_steps
        self.weights_seen: list[torch.Tensor] = []

    def training_step(self, batch, batch_idx):
        self.weights_seen.append(self.lin.weight.detach().clone())
        loss = self.lin(batch).pow(2).mean()
        return loss * float("nan") if self.global_step in self.bad_steps else loss

    def configure_optimizers(self):
        return torch.optim.AdamW(self.parameters(), lr=0.1)


def trainer(tmp_path, guard, steps):
    ckpt = ModelCheckpoint(dirpath=tmp_path, save_last=True, every_n_train_steps=1)
    return pl.Trainer(max_steps=steps, logger=False, enable_progress_bar=False, enable_model_summary=False,
                      callbacks=[guard, ckpt], default_root_dir=tmp_path)


def data():
    return DataLoader(torch.randn(20, 3), batch_size=2)


def test_stop_names_the_step_and_keeps_the_last_good_checkpoint(tmp_path):
    model = Poisoned({3})
    with pytest.raises(SeqlitError, match=r"training stopped at step 3 .*loss is nan.*last good checkpoint: .*last.ckpt"):
        trainer(tmp_path, NumericalGuard(), 6).fit(model, data())
    saved = torch.load(tmp_path / "last.ckpt", weights_only=True)
    assert saved["global_step"] == 3
    assert all(torch.isfinite(v).all() for v in saved["state_dict"].values())


def test_skip_leaves_weights_untouched_and_counts(tmp_path):
    model = Poisoned({2, 4})
    guard = NumericalGuard(action="skip")
    trainer(tmp_path, guard, 6).fit(model, data())
    assert guard.skipped == 2
    w = model.weights_seen
    assert torch.equal(w[2], w[3]) and torch.equal(w[4], w[5]), "a skipped step must not move the weights"
    assert not torch.equal(w[0], w[1])
    assert all(torch.isfinite(p).all() for p in model.parameters())


def test_skip_gives_up_after_too_many_in_a_row(tmp_path):
    with pytest.raises(SeqlitError, match="training stopped"):
        trainer(tmp_path, NumericalGuard(action="skip", max_skips=2), 8).fit(Poisoned({1, 2, 3, 4}), data())


class InfiniteGradient(Poisoned):
    """A finite loss whose gradient for `lin.bias` turns infinite at the given steps."""

    def __init__(self, bad_steps: set[int]):
        super().__init__(set())
        self.lin.bias.register_hook(lambda g: g * float("inf") if self.global_step in bad_steps else g)


def test_a_non_finite_gradient_under_a_finite_loss_is_named(tmp_path):
    with pytest.raises(SeqlitError, match=r"training stopped at step 2 .*non-finite gradient in lin\.bias;"):
        trainer(tmp_path, NumericalGuard(), 6).fit(InfiniteGradient({2}), data())
