"""A task defined only in the tests: count the `a`s of a string (many-to-one regression), scored by mean absolute
error, lower is better. Everything the pipeline needs to know about it is on the class (`SeqTask`)."""

from __future__ import annotations

import torch
from torch import nn
from torchmetrics import MeanAbsoluteError

from seqlit.nn.backbone import BackboneFactory
from seqlit.tasks.base import SeqTask

BACKBONE = {"class_path": "seqlit.nn.Recurrent", "init_args": {"kind": "gru", "hidden_size": 16}}


class Counter(SeqTask):
    monitor, monitor_mode = "val/mae", "min"
    task_name = "counting"
    headline = "test/mae"
    directions = {"loss": -1, "mae": -1}
    required_spec = ("vocab_size", "pad_id")

    def __init__(self, data_spec: dict | None = None, backbone: BackboneFactory = BACKBONE, embedding_dim: int = 8,
                 lr: float = 0.01, weight_decay: float = 0.0):
        super().__init__(data_spec, lr, weight_decay)
        self.save_hyperparameters()
        self.embedding = nn.Embedding(self.spec["vocab_size"], embedding_dim, padding_idx=self.spec["pad_id"])
        self.backbone = self.build_backbone(backbone, embedding_dim)
        self.out = nn.Linear(self.backbone.output_size, 1)
        self.track_metrics()

    def metrics(self):
        return {"mae": MeanAbsoluteError()}

    def forward(self, batch: dict) -> torch.Tensor:
        outputs, _ = self.backbone(self.embedding(batch["input_ids"]), batch["lengths"])
        last = outputs[torch.arange(outputs.size(0)), batch["lengths"].to(outputs.device) - 1]
        return self.out(last).squeeze(-1)

    def training_step(self, batch, batch_idx):
        loss = nn.functional.mse_loss(self(batch), batch["counts"])
        self.log("train/loss", loss)
        return loss

    def evaluate(self, batch, stage, metrics):
        predicted = self(batch)
        metrics["mae"].update(predicted, batch["counts"])
        return nn.functional.mse_loss(predicted, batch["counts"]), len(predicted)

    def predict_step(self, batch, batch_idx):
        return [{"index": int(i), "text": text, "count": round(float(c), 3)}
                for i, text, c in zip(batch["index"], batch["texts"], self(batch))]

    def render(self, record: dict) -> str:
        return f"{record['text']}\n  {record['count']:.1f} a's"

    def batch_tokens(self, batch: dict) -> int:
        return int(batch["lengths"].sum())
