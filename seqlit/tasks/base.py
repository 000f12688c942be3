"""What every task module shares: the data spec contract, the monitored metric, the default optimizer and schedule.

`data_spec` (vocabulary size, pad id, label names …) is linked from the data
module by the CLI, so sizes are never typed twice; it is stored in the
hyper-parameters, so a checkpoint alone rebuilds the model.

Checkpoints also carry what a mid-epoch resume needs to continue exactly as
an uninterrupted run would (see `seqlit/resume.py` and docs/resume.md): the
random generators' state, and whatever a subclass adds in `resume_state`.
"""

from __future__ import annotations

import math
from typing import Any, Literal

import pytorch_lightning as pl
import torch
from pytorch_lightning.callbacks import Timer
from pytorch_lightning.plugins.precision import MixedPrecision

from seqlit import resume
from seqlit.errors import SeqlitError


class SeqTask(pl.LightningModule):
    """Base class. Subclasses set `monitor` / `monitor_mode` (used by the default checkpointing)."""

    monitor: str = "val/loss"
    monitor_mode: str = "min"
    required_spec: tuple[str, ...] = ()

    def __init__(self, data_spec: dict[str, Any] | None, lr: float, weight_decay: float,
                 lr_schedule: Literal["constant", "cosine"] = "constant"):
        super().__init__()
        if data_spec is None:
            raise SeqlitError(
                f"{type(self).__name__} needs data_spec (vocabulary size, labels …): "
                "run it through `python -m seqlit` with a data module, which links it"
            )
        missing = [k for k in self.required_spec if k not in data_spec]
        if missing:
            raise SeqlitError(f"{type(self).__name__}: data_spec lacks {', '.join(missing)}: is the data module for this task?")
        if lr <= 0:
            raise SeqlitError(f"model.lr must be positive, got {lr}")
        self.spec = data_spec
        self.lr, self.weight_decay, self.lr_schedule = lr, weight_decay, lr_schedule
        self._resume: dict[str, torch.Tensor] | None = None

    def describe(self) -> dict[str, Any]:
        """What records and leaderboards call this model: the task, its backbone's description, its size."""
        backbone = getattr(self, "backbone", None)
        if backbone is None:  # tasks that do not yet name their backbone `backbone`: their first Recurrent
            from seqlit.nn import Recurrent

            backbone = next((m for n, m in self.named_modules() if isinstance(m, Recurrent) and "chars" not in n), None)
        return {"task": type(self).__name__,
                "backbone": backbone.describe() if hasattr(backbone, "describe") else None,
                "params": sum(p.numel() for p in self.parameters())}

    # -- resume ------------------------------------------------------------------
    def resume_state(self) -> dict[str, torch.Tensor]:
        """This process's tensors that weights, optimizer and loops do not hold: the random generators.

        Subclasses add state they carry from batch to batch (and restore it in `load_resume_state`).
        """
        return resume.rng_state(self.device)

    def load_resume_state(self, state: dict[str, torch.Tensor]) -> None:
        resume.set_rng_state(state, self.device)

    def on_save_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        checkpoint[resume.KEY] = resume.gather(self, self.resume_state())

    @staticmethod
    def upgrade_state_dict(state: dict[str, torch.Tensor]) -> None:
        """Rename in place the weights of checkpoints written before a task's layout changed.

        Called on every checkpoint loaded, and by `check_fits` before it compares keys.
        """

    def on_load_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        self.upgrade_state_dict(checkpoint["state_dict"])
        self._resume = resume.this_rank(self, checkpoint.get(resume.KEY))

    def on_train_start(self) -> None:
        """Restore the resume state (CPU tensors) here, the last moment before training: the model is
        on its device, and nothing draws random numbers between now and the first batch."""
        if self._resume is not None:
            self.load_resume_state(self._resume)
            self._resume = None

    def configure_optimizers(self):
        """AdamW with `lr_schedule`, unless the config gives `optimizer:` (LightningCLI then replaces this method).

        Fused AdamW: one kernel per step, several times faster than torch's
        default per-tensor loop on CPU (large embedding tables dominate it).
        `cosine` decays from `lr` to 0 over the run's budget, stepped every
        batch. The budget is `max_steps`/`max_epochs` or `max_time`, whichever
        ends first, so a run cut by `max_time` still ends annealed
        (LightningCLI's `lr_scheduler:` steps once per epoch and cannot see `max_time`).

        Under mixed precision (`16-mixed`, `bf16-mixed`) the step is torch's multi-tensor
        (`foreach`) AdamW instead: a fused optimizer unscales gradients inside its own step,
        so Lightning's mixed-precision plugin refuses to clip them before it, and every
        task config clips.
        """
        fused = not isinstance(self.trainer.precision_plugin, MixedPrecision) if self._trainer is not None else True
        optimizer = torch.optim.AdamW(self.parameters(), lr=self.lr, weight_decay=self.weight_decay,
                                      fused=fused, foreach=not fused)
        if self.lr_schedule == "constant":
            return optimizer
        scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda step: 0.5 * (1 + math.cos(math.pi * self.progress(step))))
        return {"optimizer": optimizer, "lr_scheduler": {"scheduler": scheduler, "interval": "step"}}

    def progress(self, step: int) -> float:
        """Fraction of the run's budget used after `step` optimizer steps: of the steps, or of `max_time`."""
        done = 0.0
        # step 0 is the scheduler's first call, inside configure_optimizers: asking the trainer for its step budget
        # there builds the train loader before a resumed run's checkpoint is restored, and Lightning then never
        # restores the loader's position (pytorch-lightning issue #20550); 0 steps are 0 of any budget anyway
        total = self.trainer.estimated_stepping_batches if step > 0 else 0
        if math.isfinite(total) and total > 0:
            done = step / total
        timer = next((c for c in self.trainer.callbacks if isinstance(c, Timer)), None)
        remaining = timer.time_remaining("train") if timer is not None else None
        if remaining is not None:
            elapsed = timer.time_elapsed("train")
            done = max(done, elapsed / max(elapsed + remaining, 1e-9))
        return min(done, 1.0)
