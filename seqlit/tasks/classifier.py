"""Many-to-one: read a whole text, output one label (sentiment, agreement, …).

The network is `seqlit.nn.reader.Reader` (embedding → any `Recurrent` → pooling
over time → linear). `ensemble: K` trains K of them side by side on the same
batches, each from its own initialisation and with its own dropout masks and
its own loss, and predicts with the mean of their class probabilities: a
deep ensemble, the cheapest steady gain when single runs differ by a point
(docs/results/sentiment.md).
"""

from __future__ import annotations

import math
from typing import Literal

import torch
import torch.nn.functional as F
from torch import nn
from torchmetrics import MeanMetric, MetricCollection
from torchmetrics.classification import BinaryAUROC, MulticlassAccuracy, MulticlassF1Score

from seqlit.errors import SeqlitError
from seqlit.nn.reader import Pooling, Reader
from seqlit.tasks.base import SeqTask


def metrics(num_classes: int, prefix: str) -> MetricCollection:
    """Accuracy and macro F1; AUROC of the second class when binary."""
    parts = {"acc": MulticlassAccuracy(num_classes, average="micro"),
             "f1_macro": MulticlassF1Score(num_classes, average="macro")}
    if num_classes == 2:
        parts["auroc"] = BinaryAUROC()
    # compute_groups off: each metric is updated on its own (AUROC reads only the positive-class column)
    return MetricCollection(parts, prefix=prefix, compute_groups=False)


class Classifier(SeqTask):
    """Text classification over any recurrent backbone.

    Args:
        data_spec: linked from the data module (vocab_size, pad_id, label_names).
        kind / backend / hidden_size / num_layers / bidirectional / nonlinearity: the `Recurrent` backbone
            (`dropout` also goes between its stacked layers).
        embedding_dim: size of x<t>.
        embedding_std: word vectors start as N(0, embedding_std²) (see `Reader.init_embedding`);
            1.0 is torch's default.
        pooling: `last` | `mean` | `max` | `attention` over the top layer's outputs.
        embedding_dropout: on x<t>, one mask per sentence (locked dropout), so a dropped
            feature is dropped for the whole sentence rather than flickering per word.
        word_dropout: in training, each word becomes `<unk>` with this probability (see
            `drop_words`), so the model learns what an unseen word means.
        dropout: between stacked layers and on the pooled features before the output layer.
        lr / weight_decay / lr_schedule: fused AdamW, constant or cosine over the run's budget
            (see `SeqTask.configure_optimizers`), unless the config gives `optimizer:`.
        keep_bias / orthogonal_init: memory-friendly initialisation of the backbone
            (`Recurrent.init_memory`), for long-range dependencies such as the agreement task.
        ensemble: number of readers trained side by side (K times the compute); predictions
            average their probabilities.
    """

    monitor = "val/acc"
    monitor_mode = "max"
    required_spec = ("vocab_size", "pad_id", "label_names")

    def __init__(
        self,
        data_spec: dict | None = None,
        kind: Literal["rnn", "gru", "lstm"] = "lstm",
        backend: Literal["fused", "scratch"] = "fused",
        embedding_dim: int = 128,
        embedding_std: float = 0.1,
        hidden_size: int = 128,
        num_layers: int = 1,
        bidirectional: bool = True,
        nonlinearity: Literal["tanh", "relu"] = "tanh",
        pooling: Pooling = "max",
        embedding_dropout: float = 0.5,
        word_dropout: float = 0.0,
        dropout: float = 0.5,
        lr: float = 3e-3,
        weight_decay: float = 0.0,
        lr_schedule: Literal["constant", "cosine"] = "constant",
        keep_bias: float = 0.0,
        orthogonal_init: bool = False,
        ensemble: int = 1,
    ):
        super().__init__(data_spec, lr, weight_decay, lr_schedule)
        self.save_hyperparameters()
        self.label_names = list(data_spec["label_names"])
        if not 0.0 <= word_dropout < 1.0:
            raise SeqlitError(f"model.word_dropout must lie in [0, 1), got {word_dropout}")
        if word_dropout and data_spec.get("unk_id") is None:
            raise SeqlitError("model.word_dropout needs a vocabulary with <unk>: set it to 0 for this data module")
        if ensemble < 1:
            raise SeqlitError(f"model.ensemble must be 1 or more readers, got {ensemble}")
        num_classes = len(self.label_names)
        reader = dict(kind=kind, backend=backend, embedding_dim=embedding_dim, embedding_std=embedding_std,
                      hidden_size=hidden_size, num_layers=num_layers, bidirectional=bidirectional,
                      nonlinearity=nonlinearity, pooling=pooling, embedding_dropout=embedding_dropout,
                      word_dropout=word_dropout, dropout=dropout, keep_bias=keep_bias, orthogonal_init=orthogonal_init)
        self.readers = nn.ModuleList(
            Reader(data_spec["vocab_size"], data_spec["pad_id"], data_spec.get("unk_id"), num_classes, **reader)
            for _ in range(ensemble))
        self.val_metrics = metrics(num_classes, "val/")
        self.test_metrics = metrics(num_classes, "test/")
        # `self.log(..., sync_dist=True)` would floor the batch-size total when ranks hold unequal shares
        # (Lightning #21859): a MeanMetric weighted by batch size is summed across ranks exactly
        self.val_loss, self.test_loss = MeanMetric(), MeanMetric()

    # -- model ---------------------------------------------------------------
    def member_logits(self, input_ids: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        """(K, B, C): every reader's class logits."""
        return torch.stack([reader(input_ids, lengths) for reader in self.readers])

    def forward(self, input_ids: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        """(B, C) log of the readers' mean class probabilities (for one reader: its log-softmax)."""
        log_probs = self.member_logits(input_ids, lengths).log_softmax(-1)
        return torch.logsumexp(log_probs, dim=0) - math.log(len(self.readers))

    @staticmethod
    def upgrade_state_dict(state: dict[str, torch.Tensor]) -> None:
        """Checkpoints from before `ensemble` kept one reader's weights at the top level: they load as reader 0."""
        for key in [k for k in state if k.split(".")[0] in ("embedding", "rnn", "pool", "out")]:
            state[f"readers.0.{key}"] = state.pop(key)

    # -- loops ----------------------------------------------------------------
    def training_step(self, batch, batch_idx):
        """Each reader learns from its own loss (their mean), which keeps the members diverse."""
        logits = self.member_logits(batch["input_ids"], batch["lengths"])
        labels = batch["labels"].repeat(logits.size(0))
        loss = F.cross_entropy(logits.flatten(0, 1), labels)
        self.log("train/loss", loss, prog_bar=True, batch_size=logits.size(1))
        return loss

    def _evaluate(self, batch, stage: str, collection: MetricCollection) -> None:
        logits = self(batch["input_ids"], batch["lengths"])
        labels = batch["labels"]
        mean_loss = getattr(self, f"{stage}_loss")
        mean_loss.update(F.cross_entropy(logits, labels), weight=logits.size(0))
        self.log(f"{stage}/loss", mean_loss, batch_size=logits.size(0))
        probs = logits.softmax(-1)
        for name, metric in collection.items(keep_base=True):
            metric.update(probs[:, 1] if isinstance(metric, BinaryAUROC) else probs, labels)

    def validation_step(self, batch, batch_idx):
        self._evaluate(batch, "val", self.val_metrics)

    def test_step(self, batch, batch_idx):
        self._evaluate(batch, "test", self.test_metrics)

    def on_validation_epoch_end(self):
        # already synced by the metrics; sync_dist only tells Lightning so (a no-op mean)
        self.log_dict(self.val_metrics.compute(), prog_bar=True, sync_dist=True)
        self.val_metrics.reset()

    def on_test_epoch_end(self):
        self.log_dict(self.test_metrics.compute(), sync_dist=True)
        self.test_metrics.reset()

    def predict_step(self, batch, batch_idx) -> list[dict]:
        """One JSON-ready record per text: its index, text, predicted label and class probabilities."""
        probs = self(batch["input_ids"], batch["lengths"]).softmax(-1).tolist()
        return [
            {"index": int(i), "text": text, "label": self.label_names[max(range(len(p)), key=p.__getitem__)],
             "probs": {name: round(q, 6) for name, q in zip(self.label_names, p)}}
            for i, text, p in zip(batch["index"].tolist(), batch["texts"], probs)
        ]
