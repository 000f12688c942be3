"""Vanishing and exploding gradients, made visible.

Every `every_n_steps` steps this records, for each time step t, the norm of ∂L/∂a<t> (the backbone's top-layer
state), averaged over the sequences that reach t: the backbone runs its scratch loop with zero "probes" added
to each a<t> (`Backbone.new_probe`, any backbone; `Recurrent` runs its scratch loop), since a fused kernel never shows per-step gradients. The curve is a
PNG in the run folder and a W&B image; the gradient norm before and after clipping is logged too.
"""

from __future__ import annotations

import os

import pytorch_lightning as pl
import torch
from pytorch_lightning.loggers import WandbLogger

from seqlit.errors import SeqlitError
from seqlit.nn import Backbone
from seqlit.run.config import run_dir


def grad_norm(parameters) -> float:
    grads = [p.grad.detach().norm() for p in parameters if p.grad is not None]
    return float(torch.stack(grads).norm()) if grads else 0.0


def per_step_norms(grad: torch.Tensor, lengths: torch.Tensor | None) -> torch.Tensor:
    """(B, T, F) gradient -> (T,) mean over the sequences that have step t of ‖grad[b, t]‖."""
    norms = grad.norm(dim=-1)
    if lengths is None:
        return norms.mean(0)
    real = (torch.arange(grad.size(1))[None, :] < lengths.cpu()[:, None]).to(norms)
    return (norms * real).sum(0) / real.sum(0).clamp(min=1)


class GradientFlow(pl.Callback):
    """Args:
        every_n_steps: record the per-step gradient norms every n training steps (and at step 0).
        save_png: write `gradient_flow/step_<n>.png` (and `.pt` with the numbers) into the run folder.
    """

    def __init__(self, every_n_steps: int = 100, save_png: bool = True):
        if every_n_steps <= 0:
            raise ValueError(f"GradientFlow: every_n_steps must be positive, got {every_n_steps}")
        self.every_n_steps, self.save_png = every_n_steps, save_png
        self.history: list[tuple[int, torch.Tensor]] = []
        self._backbone: Backbone | None = None
        self._lengths: torch.Tensor | None = None

    # -- capture ∂L/∂a<t> ------------------------------------------------------
    def setup(self, trainer, pl_module, stage: str) -> None:
        # a task's own backbone (not a character encoder's); any other module: its first backbone
        backbone = pl_module.main_backbone() if hasattr(pl_module, "main_backbone") else next(
            (m for m in pl_module.modules() if isinstance(m, Backbone)), None)
        self._backbone = backbone if isinstance(backbone, Backbone) else None
        if self._backbone is None:
            raise ValueError("GradientFlow needs a model with a seqlit.nn.Backbone")

    def on_train_batch_start(self, trainer, pl_module, batch, batch_idx) -> None:
        self._backbone.probe = trainer.global_step % self.every_n_steps == 0
        self._lengths = batch.get("lengths") if isinstance(batch, dict) else None

    def on_after_backward(self, trainer, pl_module) -> None:
        if not self._backbone.probe:
            return
        grads = self._backbone.probe_gradients()
        self._backbone.probe = False
        if grads is None:
            raise SeqlitError(f"GradientFlow: the backbone {type(self._backbone).__name__} made no probe: its forward "
                              "must add `self.new_probe(...)` to its top layer's states (seqlit/nn/backbone.py)")
        norms = per_step_norms(grads.detach().float().cpu(), self._lengths)
        step = trainer.global_step
        self.history.append((step, norms))
        pl_module.log("grad/first_over_last", float(norms[0] / norms[-1].clamp(min=1e-30)))
        if trainer.is_global_zero:
            self._publish(trainer, step, norms)

    # -- global norm before / after clipping ---------------------------------------
    def on_before_optimizer_step(self, trainer, pl_module, optimizer) -> None:
        pl_module.log("grad/norm_before_clip", grad_norm(pl_module.parameters()))

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx) -> None:
        pl_module.log("grad/norm_after_clip", grad_norm(pl_module.parameters()))

    # -- output ------------------------------------------------------------------------
    def _publish(self, trainer, step: int, norms: torch.Tensor) -> None:
        from seqlit.plots import gradient_flow_figure

        title = f"{type(trainer.lightning_module).__name__} step {step}"
        fig = gradient_flow_figure({title: norms})
        if self.save_png:
            folder = os.path.join(run_dir(trainer), "gradient_flow")
            os.makedirs(folder, exist_ok=True)
            fig.savefig(os.path.join(folder, f"step_{step:06d}.png"), dpi=100, bbox_inches="tight")
            torch.save({"step": step, "norms": norms}, os.path.join(folder, f"step_{step:06d}.pt"))
        for logger in trainer.loggers:
            if isinstance(logger, WandbLogger):
                import wandb

                logger.experiment.log({"grad/flow": wandb.Image(fig), "trainer/global_step": step})
