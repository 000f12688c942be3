"""Training throughput in tokens per second, the figure the benchmark leaderboard compares.

Tokens are what the model reads, not what the loader pads (the task says: `SeqTask.batch_tokens`); time is training wall time only (validation does
not count). `train/tokens_per_s` is logged at each epoch's end as tokens over time since fit started, so the
last value is the whole run's figure (of a resumed run: the resumed part's); under DDP the ranks' figures are summed.
What counts: docs/benchmark.md.
"""

from __future__ import annotations

import time

import pytorch_lightning as pl
import torch
from pytorch_lightning.utilities import rank_zero_info


def batch_tokens(batch) -> int:
    """Real (unpadded) tokens in a batch."""
    if isinstance(batch, dict):
        for key in ("lengths", "source_lengths", "input_ids", "targets"):
            if key in batch:
                value = batch[key]
                return int(value.sum()) if key.endswith("lengths") else value.numel()
    raise ValueError("Throughput: a batch needs 'lengths', 'source_lengths', 'input_ids' or 'targets' to count its tokens")


def device_name(device: torch.device) -> str:
    """A human-readable name for the device a run trained on, e.g. 'cuda: NVIDIA H100 80GB HBM3'."""
    if device.type == "cuda":
        return f"cuda: {torch.cuda.get_device_name(device)}"
    return f"{device.type}: {torch.get_num_threads()} threads, torch {torch.__version__}"


class Throughput(pl.Callback):
    """Log `train/tokens_per_s` each training epoch; print the device once (the benchmark runner reads it)."""

    def __init__(self):
        self.tokens = 0
        self.train_s = 0.0
        self._since: float | None = None  # start of the current stretch of training time, None while paused
        self._resume = False

    def _now(self, pl_module) -> float:
        # GPU work is asynchronous: wait for it, so time lands in the phase that queued it
        if pl_module.device.type == "cuda":
            torch.cuda.synchronize(pl_module.device)
        return time.perf_counter()

    def _pause(self, pl_module) -> bool:
        """Stop the clock; True if it was running."""
        if self._since is None:
            return False
        self.train_s += self._now(pl_module) - self._since
        self._since = None
        return True

    def on_fit_start(self, trainer, pl_module) -> None:
        rank_zero_info(f"[seqlit] device: {device_name(pl_module.device)}")

    def on_train_start(self, trainer, pl_module) -> None:
        self._since = self._now(pl_module)  # a run resumed mid-epoch gets no on_train_epoch_start for that epoch

    def on_train_epoch_start(self, trainer, pl_module) -> None:
        self._since = self._now(pl_module)

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx) -> None:
        self.tokens += getattr(pl_module, "batch_tokens", batch_tokens)(batch)

    def on_validation_start(self, trainer, pl_module) -> None:
        self._resume = self._pause(pl_module)  # validation inside a training epoch

    def on_validation_end(self, trainer, pl_module) -> None:
        if self._resume:
            self._since, self._resume = self._now(pl_module), False

    def on_train_epoch_end(self, trainer, pl_module) -> None:
        self._pause(pl_module)
        rate = self.tokens / self.train_s if self.train_s > 0 else 0.0  # every rank logs: sync_dist waits for all
        pl_module.log("train/tokens_per_s", rate, sync_dist=True, reduce_fx="sum")
        if pl_module.device.type == "cuda":
            pl_module.log("train/peak_gpu_mem_mb", torch.cuda.max_memory_allocated(pl_module.device) / 2**20,
                          sync_dist=True, reduce_fx="max")
