"""One input -> a sequence: a language model conditioned on a class (a sentiment label, a speaker) or several.

    e = [C1 · onehot(c1) ; … ; CF · onehot(cF)]   (the condition: each field's embedding, concatenated)
    a<0> = tanh(Wae e + ba)                       (`init`: every layer's initial state, as seq2seq's bridge)
    x<t> = [E · onehot(token t) ; e]              (`concat`: the condition beside every input)
    a<t>, state = backbone(x<t>, a<t-1>)          (the same `backbone:` section as every task)
    ŷ<t> = softmax(Wya a<t> + by)

Fields are concatenated, not summed, so a field of 2 names and one of 90 keep dimensions of their own. `both`
does both; `none` never reads the condition: the baseline that says what it is worth. Each example is one
sequence from `<bos>`, so no state is carried between batches.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

import torch
import torch.nn.functional as F
from torch import nn

from seqlit.errors import SeqlitError
from seqlit.nn.backbone import BackboneFactory
from seqlit.nn.dropout import LockedDropout
from seqlit.nn.types import PositiveInt, Rate
from seqlit.tasks.base import Bridge, SeqTask
from seqlit.tasks.language_model import LEFT_TO_RIGHT, LanguageModel

BACKBONE = {"class_path": "seqlit.nn.Recurrent", "init_args": {"kind": "lstm", "hidden_size": 256, "num_layers": 1}}
IGNORE = -100  # padded targets (data_modules/conditional.py)
Mode = Literal["init", "concat", "both", "none"]


class Conditioned:
    """A conditional model with its condition fixed (one id per field): `step(input_ids, state)` and
    `parameters()`, what `seqlit.generation.sample` asks of a language model."""

    def __init__(self, model: ConditionalLanguageModel, condition: Sequence[int]):
        self.model, self.condition = model, list(condition)

    def parameters(self):
        return self.model.parameters()

    def step(self, input_ids: torch.Tensor, state=None):
        conditions = torch.tensor(self.condition, device=input_ids.device).expand(input_ids.size(0), -1)
        return self.model.step(input_ids, conditions, state)


class ConditionalLanguageModel(SeqTask):
    """A recurrent language model that writes a sequence given one or more categorical inputs.

    Args:
        data_spec: linked from the data module (vocab_size, pad_id, level, condition_fields).
        backbone: the recurrent backbone (`seqlit.nn.backbone`); unidirectional.
        condition: how the condition enters: `init` (a<0> of every layer, through a projection), `concat`
            (beside every x<t>), `both`, or `none` (not at all: the baseline for the condition's gain).
        condition_dim: size of each field's embedding, or one size per field (e is their sum of sizes wide).
        embedding_dim: size of each token's vector.
        dropout: on the backbone's outputs, one mask per sequence.
        embedding_dropout: on the token vectors, one mask per sequence.
        lr / weight_decay / lr_schedule: fused AdamW, constant or cosine over the run's budget.
    """

    monitor = "val/ppl"
    monitor_mode = "min"
    task_name = "conditional_lm"
    directions, headline = LanguageModel.directions, LanguageModel.headline
    required_spec = ("vocab_size", "pad_id", "level", "condition_fields")

    def __init__(
        self,
        data_spec: dict | None = None,
        backbone: BackboneFactory = BACKBONE,
        condition: Mode = "both",
        condition_dim: PositiveInt | list[PositiveInt] = 32,
        embedding_dim: PositiveInt = 128,
        dropout: Rate = 0.2,
        embedding_dropout: Rate = 0.1,
        lr: float = 2e-3,
        weight_decay: float = 0.0,
        lr_schedule: Literal["constant", "cosine"] = "constant",
    ):
        super().__init__(data_spec, lr, weight_decay, lr_schedule)
        self.save_hyperparameters()
        if condition not in ("init", "concat", "both", "none"):
            raise SeqlitError(f"model.condition must be init, concat, both or none, got {condition!r}")
        self.mode, self.condition_fields = condition, dict(data_spec["condition_fields"])
        self.init, self.concat = condition in ("init", "both"), condition in ("concat", "both")
        dims = [condition_dim] * len(self.condition_fields) if isinstance(condition_dim, int) else list(condition_dim)
        if len(dims) != len(self.condition_fields) or min(dims) <= 0:
            raise SeqlitError(f"model.condition_dim must be one positive size or one per condition field "
                              f"({', '.join(self.condition_fields)}), got {condition_dim}")
        vocab_size = data_spec["vocab_size"]
        self.embedding = nn.Embedding(vocab_size, embedding_dim, padding_idx=data_spec["pad_id"])
        self.condition_embeddings = nn.ModuleList(
            nn.Embedding(len(names), dim) for names, dim in zip(self.condition_fields.values(), dims)
        ) if condition != "none" else None
        self.embedding_dropout = LockedDropout(embedding_dropout)
        self.backbone = self.build_backbone(backbone, embedding_dim + (sum(dims) if self.concat else 0),
                                            forward_only=LEFT_TO_RIGHT)
        self.bridge = Bridge(sum(dims), self.backbone) if self.init else None
        self.output_dropout = LockedDropout(dropout)
        self.decoder = nn.Linear(self.backbone.output_size, vocab_size)
        self.track_metrics()

    def head(self) -> str | None:
        return f"cond-{self.mode}"

    # -- model ---------------------------------------------------------------
    def condition_vector(self, conditions: torch.Tensor) -> torch.Tensor:
        """e (B, sum of sizes) from the conditions' ids (B, F), one per field; (B,) ids are a one-field model's."""
        if conditions.dim() == 1:
            conditions = conditions.unsqueeze(-1)
        if conditions.size(-1) != len(self.condition_embeddings):
            raise ValueError(f"conditions carry {conditions.size(-1)} fields, the model reads {len(self.condition_embeddings)}")
        return torch.cat([table(conditions[:, f]) for f, table in enumerate(self.condition_embeddings)], dim=-1)

    def features(self, input_ids: torch.Tensor, conditions: torch.Tensor, lengths: torch.Tensor | None = None, state=None):
        """Hidden features (B, T, H) for every position, and the state after the last; `state` None starts from
        the condition (`init`) or zeros. `conditions`: (B, F) ids."""
        x = self.embedding_dropout(self.embedding(input_ids))
        cond = self.condition_vector(conditions) if self.condition_embeddings is not None else None
        if self.concat:
            x = torch.cat([x, cond.unsqueeze(1).expand(-1, x.size(1), -1)], dim=-1)
        if state is None and self.init:
            state = self.bridge(cond)
        out, state = self.backbone(x, lengths=lengths, state=state)
        return self.output_dropout(out), state

    def step(self, input_ids: torch.Tensor, conditions: torch.Tensor, state=None):
        """Log-probabilities of the next token after each position, and the new state (for sampling)."""
        out, state = self.features(input_ids, conditions, state=state)
        return F.log_softmax(self.decoder(out), dim=-1), state

    def conditioned(self, condition: int | Sequence[int]) -> Conditioned:
        """This model writing under `condition`: one id per field (an int for a one-field model; see `Conditioned`)."""
        return Conditioned(self, [condition] if isinstance(condition, int) else condition)

    # -- loops ----------------------------------------------------------------
    def _nll(self, batch) -> tuple[torch.Tensor, torch.Tensor]:
        """Mean NLL per real target token (nats) of a batch, and that token count."""
        features, _ = self.features(batch["input_ids"], batch["conditions"], batch["lengths"])
        targets = batch["targets"]
        n = (targets != IGNORE).sum()
        loss = F.cross_entropy(self.decoder(features).flatten(0, 1), targets.flatten(), ignore_index=IGNORE,
                               reduction="sum")
        return loss / n.clamp(min=1), n

    def training_step(self, batch, batch_idx):
        loss, n = self._nll(batch)
        self.log("train/loss", loss, prog_bar=True, batch_size=int(n))
        return loss

    def evaluate(self, batch, stage, metrics):
        return self._nll(batch)

    # perplexity, and bits per character at character level: the plain language model's, by the same names
    epoch_metrics = LanguageModel.epoch_metrics

    def describe(self):
        return {**super().describe(), "condition": self.mode, "condition_fields": list(self.condition_fields),
                "conditions": sum(len(names) for names in self.condition_fields.values())}
