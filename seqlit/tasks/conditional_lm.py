"""One input -> a sequence: a language model conditioned on a class (a sentiment label, a speaker).

    e = C · onehot(condition)                     (the condition's embedding)
    a<0> = tanh(Wae e + ba)                       (`init`: every layer's initial state, as seq2seq's bridge)
    x<t> = [E · onehot(token t) ; e]              (`concat`: the condition beside every input)
    a<t>, state = backbone(x<t>, a<t-1>)          (the same `backbone:` section as every task)
    ŷ<t> = softmax(Wya a<t> + by)

`both` does both; `none` is the same model that never reads the condition,
trained on the same sequences: the comparison that says what the condition
is worth. Each example is one sequence read from `<bos>` (data_modules/conditional.py),
so there is no state carried between batches and the perplexity is that of
whole sequences given their condition.

Sampling reuses `seqlit.generation` unchanged: `conditioned(c)` is the model with
its condition fixed, offering the plain language model's `step(input_ids, state)`.
"""

from __future__ import annotations

from typing import Literal

import torch
import torch.nn.functional as F
from torch import nn

from seqlit.errors import SeqlitError
from seqlit.nn.backbone import BackboneFactory
from seqlit.nn.dropout import LockedDropout
from seqlit.nn.types import PositiveInt, Rate
from seqlit.tasks.base import SeqTask
from seqlit.tasks.language_model import LanguageModel

BACKBONE = {"class_path": "seqlit.nn.Recurrent", "init_args": {"kind": "lstm", "hidden_size": 256, "num_layers": 1}}
IGNORE = -100  # padded targets (data_modules/conditional.py)
Mode = Literal["init", "concat", "both", "none"]


class Conditioned:
    """A conditional model with its condition fixed: `step(input_ids, state)` and `parameters()`, what
    `seqlit.generation.sample` asks of a language model."""

    def __init__(self, model: ConditionalLanguageModel, condition: int):
        self.model, self.condition = model, condition

    def parameters(self):
        return self.model.parameters()

    def step(self, input_ids: torch.Tensor, state=None):
        conditions = torch.full((input_ids.size(0),), self.condition, dtype=torch.long, device=input_ids.device)
        return self.model.step(input_ids, conditions, state)


class ConditionalLanguageModel(SeqTask):
    """A recurrent language model that writes a sequence given one categorical input.

    Args:
        data_spec: linked from the data module (vocab_size, pad_id, level, condition_names).
        backbone: the recurrent backbone (`seqlit.nn.backbone`); unidirectional.
        condition: how the condition enters: `init` (a<0> of every layer, through a projection), `concat`
            (beside every x<t>), `both`, or `none` (not at all: the baseline for the condition's gain).
        condition_dim: size of the condition's embedding.
        embedding_dim: size of each token's vector.
        dropout: on the backbone's outputs, one mask per sequence.
        embedding_dropout: on the token vectors, one mask per sequence.
        lr / weight_decay / lr_schedule: fused AdamW, constant or cosine over the run's budget.
    """

    monitor = "val/ppl"
    monitor_mode = "min"
    task_name = "conditional_lm"
    required_spec = ("vocab_size", "pad_id", "level", "condition_names")

    def __init__(
        self,
        data_spec: dict | None = None,
        backbone: BackboneFactory = BACKBONE,
        condition: Mode = "both",
        condition_dim: PositiveInt = 32,
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
        self.mode, self.condition_names = condition, list(data_spec["condition_names"])
        self.init, self.concat = condition in ("init", "both"), condition in ("concat", "both")
        vocab_size = data_spec["vocab_size"]
        self.embedding = nn.Embedding(vocab_size, embedding_dim, padding_idx=data_spec["pad_id"])
        self.condition_embedding = nn.Embedding(len(self.condition_names), condition_dim) if condition != "none" else None
        self.embedding_dropout = LockedDropout(embedding_dropout)
        self.backbone = self.build_backbone(backbone, embedding_dim + (condition_dim if self.concat else 0))
        if self.backbone.num_directions != 1:
            raise SeqlitError("model.init_args.backbone.bidirectional must be false for a language model: "
                              "a backward direction reads the tokens the model has to predict")
        b = self.backbone
        self.bridge = nn.Linear(condition_dim, b.state_parts * b.num_layers * b.hidden_size) if self.init else None
        self.output_dropout = LockedDropout(dropout)
        self.decoder = nn.Linear(b.output_size, vocab_size)
        self.track_metrics()

    def head(self) -> str | None:
        return f"cond-{self.mode}"

    # -- model ---------------------------------------------------------------
    def initial_state(self, cond: torch.Tensor):
        """Every layer's (a<0>[, c<0>]) from the condition's embedding (B, condition_dim)."""
        b = self.backbone
        parts = torch.tanh(self.bridge(cond)).view(-1, b.state_parts, b.num_layers, b.hidden_size).permute(1, 2, 0, 3)
        return tuple(p.contiguous() for p in parts) if b.state_parts > 1 else parts[0].contiguous()

    def features(self, input_ids: torch.Tensor, conditions: torch.Tensor, lengths: torch.Tensor | None = None, state=None):
        """Hidden features (B, T, H) for every position, and the state after the last; `state` None starts from
        the condition (`init`) or zeros."""
        x = self.embedding_dropout(self.embedding(input_ids))
        cond = self.condition_embedding(conditions) if self.condition_embedding is not None else None
        if self.concat:
            x = torch.cat([x, cond.unsqueeze(1).expand(-1, x.size(1), -1)], dim=-1)
        if state is None and self.init:
            state = self.initial_state(cond)
        out, state = self.backbone(x, lengths=lengths, state=state)
        return self.output_dropout(out), state

    def step(self, input_ids: torch.Tensor, conditions: torch.Tensor, state=None):
        """Log-probabilities of the next token after each position, and the new state (for sampling)."""
        out, state = self.features(input_ids, conditions, state=state)
        return F.log_softmax(self.decoder(out), dim=-1), state

    def conditioned(self, condition: int) -> Conditioned:
        """This model writing under condition id `condition` (see `Conditioned`)."""
        return Conditioned(self, condition)

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
        return {**super().describe(), "condition": self.mode, "conditions": len(self.condition_names)}
