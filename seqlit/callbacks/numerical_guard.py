"""Stop (or skip the step) when the loss or a gradient is NaN or infinite.

A NaN that reaches the weights poisons every later step and checkpoint, so the loss is checked before backward
and the gradients before the optimizer step. `stop` ends training with a line naming the step, leaving the
checkpoints on disk as they are; `skip` drops the step's gradients (the optimizer leaves those weights and
moments alone) and stops after `max_skips` in a row. The gradient check is one fused norm; parameters are
looked at one by one only to name the culprit (why: docs/architecture.md, "Callbacks").
"""

from __future__ import annotations

from typing import Literal

import pytorch_lightning as pl
import torch

from seqlit.errors import SeqlitError


class NumericalGuard(pl.Callback):
    def __init__(self, action: Literal["stop", "skip"] = "stop", max_skips: int = 10):
        if action not in ("stop", "skip"):
            raise ValueError(f"NumericalGuard: action must be 'stop' or 'skip', got {action!r}")
        self.action, self.max_skips = action, max_skips
        self.skipped = 0
        self._in_a_row = 0
        self._bad: str | None = None

    def on_before_backward(self, trainer, pl_module, loss: torch.Tensor) -> None:
        self._bad = None if torch.isfinite(loss).all() else f"loss is {loss.item()}"

    def on_before_optimizer_step(self, trainer, pl_module, optimizer) -> None:
        grads = [p.grad for p in pl_module.parameters() if p.grad is not None]
        if self._bad is None and grads and not torch.isfinite(torch.nn.utils.get_total_norm(grads)):
            bad = [n for n, p in pl_module.named_parameters() if p.grad is not None and not torch.isfinite(p.grad).all()]
            if bad:
                self._bad = f"non-finite gradient in {bad[0]}" + (f" and {len(bad) - 1} more" if len(bad) > 1 else "")
        if self._bad is None:
            self._in_a_row = 0
            return
        where = f"step {trainer.global_step} (epoch {trainer.current_epoch})"
        if self.action == "stop" or self._in_a_row >= self.max_skips:
            ckpt = trainer.checkpoint_callback.last_model_path if trainer.checkpoint_callback else ""
            raise SeqlitError(
                f"training stopped at {where}: {self._bad}; last good checkpoint: {ckpt or 'none yet'}; "
                "lower the learning rate, clip gradients (--trainer.gradient_clip_val) or use "
                "NumericalGuard(action='skip')"
            )
        for p in pl_module.parameters():
            p.grad = None
        self.skipped += 1
        self._in_a_row += 1
        pl_module.log("guard/skipped_steps", float(self.skipped))

    def state_dict(self) -> dict:
        return {"skipped": self.skipped}

    def load_state_dict(self, state_dict: dict) -> None:
        self.skipped = state_dict.get("skipped", 0)
