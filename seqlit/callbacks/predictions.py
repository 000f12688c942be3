"""Write `predict` outputs as JSON lines, in input order, atomically.

Task modules return, from `predict_step`, a list of JSON-ready dicts, each
with an integer `index` (the example's position in the input file). Under
DDP every rank predicts its share; the records are gathered to rank zero,
sorted by `index`, and written to a temporary file that is renamed into
place, so a crash never leaves a half-written output.
"""

from __future__ import annotations

import json
import os
import sys
import tempfile

import torch.distributed as dist
from pytorch_lightning.callbacks import BasePredictionWriter


class JsonlPredictionWriter(BasePredictionWriter):
    """Args: output: file to write ('-' for standard output)."""

    def __init__(self, output: str = "-"):
        super().__init__(write_interval="epoch")
        self.output = output

    def write_on_epoch_end(self, trainer, pl_module, predictions, batch_indices) -> None:
        records = [r for batch in predictions for r in batch]
        if trainer.world_size > 1 and dist.is_available() and dist.is_initialized():
            gathered = [None] * trainer.world_size
            dist.all_gather_object(gathered, records)
            records = [r for part in gathered for r in part]
        if not trainer.is_global_zero:
            return
        records.sort(key=lambda r: r["index"])
        lines = "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records)
        if self.output == "-":
            sys.stdout.write(lines)
            return
        folder = os.path.dirname(os.path.abspath(self.output))
        os.makedirs(folder, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=".tmp-", dir=folder)
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(lines)
        os.replace(tmp, self.output)
        print(f"[seqlit] wrote {len(records)} predictions to {self.output}", file=sys.stderr)
