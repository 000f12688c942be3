"""Many-to-one: read a whole text, output one label (sentiment, agreement, …).

The network is `seqlit.nn.reader.Reader` (embedding → any backbone → pooling over time → linear). `ensemble: K`
trains K of them side by side and predicts with the mean of their probabilities: a deep ensemble, the
cheapest steady gain when single runs differ by a point (docs/results/sentiment.md).
"""

from __future__ import annotations

import math
from typing import Literal

import torch
import torch.nn.functional as F
from torch import nn
from torchmetrics.classification import BinaryAUROC, MulticlassAccuracy, MulticlassF1Score

from seqlit.errors import SeqlitError
from seqlit.nn.backbone import BackboneFactory
from seqlit.nn.reader import Pooling, Reader
from seqlit.nn.types import PositiveInt, Rate, check
from seqlit.tasks.base import SeqTask
from seqlit.transfer import Pretrained, pretrained as transfer

BACKBONE = {"class_path": "seqlit.nn.Recurrent", "init_args": {"kind": "lstm", "hidden_size": 128, "bidirectional": True}}


class Classifier(SeqTask):
    """Text classification over any recurrent backbone.

    Args:
        data_spec: linked from the data module (vocab_size, pad_id, label_names).
        backbone: the recurrent backbone (`seqlit.nn.backbone`); `keep_bias` / `orthogonal_init`
            (memory-friendly initialisation, `Recurrent.init_memory`) suit long-range tasks such as agreement.
        embedding_dim: size of x<t>.
        embedding_std: word vectors start as N(0, embedding_std²) (see `Reader.init_embedding`);
            1.0 is torch's default.
        pooling: `last` | `mean` | `max` | `attention` over the top layer's outputs.
        embedding_dropout: on x<t>, one mask per sentence (locked dropout), so a dropped
            feature is dropped for the whole sentence rather than flickering per word.
        word_dropout: in training, each word becomes `<unk>` with this probability (see
            `drop_words`), so the model learns what an unseen word means.
        dropout: on the pooled features before the output layer.
        pretrained: word vectors or a seqlit LM for the word embedding (and backbone), and how they are
            fine-tuned; `char_lms` adds each word's states in forward/backward character LMs to its
            vector (Flair-style; needs the data's words: `SentimentData` with `tokenizer: word`)
            (`seqlit.transfer`, docs/transfer.md).
        lr / weight_decay / lr_schedule: fused AdamW, constant or cosine over the run's budget
            (see `SeqTask.configure_optimizers`), unless the config gives `optimizer:`.
        ensemble: number of readers trained side by side (K times the compute); predictions
            average their probabilities.
    """

    monitor = "val/acc"
    monitor_mode = "max"
    task_name = "classification"
    headline = "test/acc"
    directions = {"loss": -1, "acc": 1, "f1": 1, "auroc": 1}
    required_spec = ("vocab_size", "pad_id", "label_names")

    def __init__(
        self,
        data_spec: dict | None = None,
        backbone: BackboneFactory = BACKBONE,
        embedding_dim: PositiveInt = 128,
        embedding_std: float = 0.1,
        pooling: Pooling = "max",
        embedding_dropout: Rate = 0.5,
        word_dropout: Rate = 0.0,
        dropout: Rate = 0.5,
        lr: float = 3e-3,
        weight_decay: float = 0.0,
        lr_schedule: Literal["constant", "cosine"] = "constant",
        pretrained: Pretrained | None = None,
        ensemble: PositiveInt = 1,
    ):
        super().__init__(data_spec, lr, weight_decay, lr_schedule, pretrained)
        self.save_hyperparameters()
        self.label_names = list(data_spec["label_names"])
        check("Classifier", Rate, word_dropout=word_dropout)
        check("Classifier", PositiveInt, ensemble=ensemble)
        if word_dropout and data_spec.get("unk_id") is None:
            raise SeqlitError("model.word_dropout needs a vocabulary with <unk>: set it to 0 for this data module")
        self.char_lms = transfer.char_lm_features(self)
        contextual = 0 if self.char_lms is None else self.char_lms.output_size
        tokenizer = data_spec.get("tokenizer")
        if self.char_lms is not None and tokenizer != "word":
            raise SeqlitError(
                "model.pretrained.char_lms reads the characters of each word, and data.tokenizer bpe hands the model "
                "subword pieces: set --data.init_args.tokenizer word" if tokenizer == "bpe" else
                "model.pretrained.char_lms reads the characters of each word, and this data module hands the model "
                "no words (data_modules.SentimentData with tokenizer: word does): drop model.pretrained.char_lms")
        reader = dict(embedding_dim=embedding_dim, embedding_std=embedding_std, pooling=pooling,
                      embedding_dropout=embedding_dropout, word_dropout=word_dropout, dropout=dropout)
        self.readers = nn.ModuleList(
            Reader(data_spec["vocab_size"], data_spec["pad_id"], data_spec.get("unk_id"), len(self.label_names),
                   self.build_backbone(backbone, embedding_dim + contextual), **reader)
            for _ in range(ensemble))
        self.track_metrics()

    def metrics(self):
        """Accuracy and macro F1; AUROC of the second class when binary."""
        num_classes = len(self.label_names)
        parts = {"acc": MulticlassAccuracy(num_classes, average="micro"),
                 "f1_macro": MulticlassF1Score(num_classes, average="macro")}
        if num_classes == 2:
            parts["auroc"] = BinaryAUROC()
        return parts

    def transfer_targets(self):
        """Every reader's embedding and backbone: each member of an ensemble starts from the same pretrained weights."""
        return [(reader.embedding, reader.backbone) for reader in self.readers]

    def main_backbone(self):
        """Reader 0's (the members of an ensemble share its settings)."""
        return self.readers[0].backbone

    def render(self, record: dict) -> str:
        ranked = sorted(record["probs"].items(), key=lambda kv: -kv[1])
        return f"{record['text']}\n  " + "   ".join(f"{name} {p:.3f}" for name, p in ranked)

    def describe(self):
        return {**super().describe(), "ensemble": len(self.readers)}

    # -- model ---------------------------------------------------------------
    def member_logits(self, input_ids: torch.Tensor, lengths: torch.Tensor,
                      tokens: list[list[str]] | None = None) -> torch.Tensor:
        """(K, B, C): every reader's class logits. `tokens`: each text's words (the batch's `tokens`), which
        the char LMs read; their features are computed once and shared by the readers."""
        features = None
        if self.char_lms is not None:
            if tokens is None:
                raise SeqlitError("model.pretrained.char_lms needs each text's words: the batch has no `tokens`")
            features = self.char_lms(tokens, input_ids.size(1))
        return torch.stack([reader(input_ids, lengths, features) for reader in self.readers])

    def forward(self, input_ids: torch.Tensor, lengths: torch.Tensor,
                tokens: list[list[str]] | None = None) -> torch.Tensor:
        """(B, C) log of the readers' mean class probabilities (for one reader: its log-softmax)."""
        log_probs = self.member_logits(input_ids, lengths, tokens).log_softmax(-1)
        return torch.logsumexp(log_probs, dim=0) - math.log(len(self.readers))

    # -- loops ----------------------------------------------------------------
    def training_step(self, batch, batch_idx):
        """Each reader learns from its own loss (their mean), which keeps the members diverse."""
        logits = self.member_logits(batch["input_ids"], batch["lengths"], batch.get("tokens"))
        labels = batch["labels"].repeat(logits.size(0))
        loss = F.cross_entropy(logits.flatten(0, 1), labels)
        self.log("train/loss", loss, prog_bar=True, batch_size=logits.size(1))
        return loss

    def evaluate(self, batch, stage, metrics):
        """Class probabilities against the labels; the loss per text."""
        logits = self(batch["input_ids"], batch["lengths"], batch.get("tokens"))
        labels = batch["labels"]
        probs = logits.softmax(-1)
        for metric in metrics.values():  # AUROC reads only the positive-class column
            metric.update(probs[:, 1] if isinstance(metric, BinaryAUROC) else probs, labels)
        return F.cross_entropy(logits, labels), labels.numel()

    def table_rows(self, batch: dict) -> list[dict[str, str]]:
        predicted = self(batch["input_ids"], batch["lengths"], batch.get("tokens")).argmax(-1).tolist()
        return [{"text": text, "gold": self.label_names[g], "predicted": self.label_names[p]}
                for text, g, p in zip(batch["texts"], batch["labels"].tolist(), predicted)]

    def predict_step(self, batch, batch_idx) -> list[dict]:
        """One JSON-ready record per text: its index, text, predicted label and class probabilities."""
        probs = self(batch["input_ids"], batch["lengths"], batch.get("tokens")).softmax(-1).tolist()
        return [
            {"index": int(i), "text": text, "label": self.label_names[max(range(len(p)), key=p.__getitem__)],
             "probs": {name: round(q, 6) for name, q in zip(self.label_names, p)}}
            for i, text, p in zip(batch["index"].tolist(), batch["texts"], probs)
        ]
