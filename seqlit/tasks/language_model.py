"""One-to-many: a recurrent language model, P(next token | tokens so far), and its sampler.

    x<t> = E · onehot(token t)                  (embedding = one-hot times a matrix)
    a<t>, state = backbone(x<t>, a<t-1>)         (any backbone: kind, depth, backend)
    ŷ<t> = softmax(Wya a<t> + by)                (full, tied, or adaptive softmax)

Training is stateful truncated BPTT (Lightning removed its own): each window's hidden state is detached and
carried into the next, so the model sees unbounded context while gradients flow `bptt` steps back. The carried
state and the epoch's NLL sums go into checkpoints (`resume_state`), so a mid-epoch resume is exact.
"""

from __future__ import annotations

import math
from typing import Literal

import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.utils.rnn import pad_sequence
from torchmetrics import MeanMetric

from seqlit.errors import SeqlitError
from seqlit.nn.adaptive_input import AdaptiveInput
from seqlit.nn.backbone import BackboneFactory, map_state
from seqlit.nn.dropout import LockedDropout
from seqlit.nn.types import PositiveInt, Rate
from seqlit.tasks.base import SeqTask
from seqlit.transfer import Pretrained

BACKBONE = {"class_path": "seqlit.nn.Recurrent",
            "init_args": {"kind": "lstm", "hidden_size": 512, "num_layers": 2, "dropout": 0.2}}
LEFT_TO_RIGHT = "a language model's backward direction would read the tokens it has to predict"


class LanguageModel(SeqTask):
    """Word- or character-level recurrent language model.

    Args:
        data_spec: linked from the data module (vocab_size, pad_id, level).
        backbone: the recurrent backbone (`seqlit.nn.backbone`); unidirectional, since the model
            must not see the tokens it predicts. Its `weight_dropout` is AWD-LSTM's DropConnect on Waa.
        embedding_dim: size of x<t>.
        dropout: on the backbone's outputs, one mask per sequence.
        embedding_dropout: on x<t>, one mask per sequence (variational / locked dropout).
        tie_weights: share the embedding matrix with the output layer (a projection
            maps hidden_size -> embedding_dim when they differ); with the adaptive softmax
            and input, share each cluster's table.
        adaptive_cutoffs: use `nn.AdaptiveLogSoftmaxWithLoss` with these cutoffs
            (frequent tokens first, which the vocabulary guarantees).
        adaptive_input: embed with `AdaptiveInput` at the same cutoffs (narrower vectors
            for rarer tokens): an 8x smaller table, and a faster step on CPUs.
        pretrained: word vectors or a seqlit LM for the word embedding (and backbone), and how they are
            fine-tuned (`seqlit.transfer`, docs/transfer.md).
        lr / weight_decay / lr_schedule: fused AdamW, constant or cosine over the run's budget
            (see `SeqTask.configure_optimizers`), unless the config gives `optimizer:`.
    """

    monitor = "val/ppl"
    monitor_mode = "min"
    task_name = "language_modeling"
    directions = {"loss": -1, "ppl": -1, "bpc": -1, "nll": -1}
    required_spec = ("vocab_size", "pad_id", "level")

    @property
    def headline(self) -> str:
        return "test/bpc" if self.spec["level"] == "char" else "test/ppl"

    def __init__(
        self,
        data_spec: dict | None = None,
        backbone: BackboneFactory = BACKBONE,
        embedding_dim: PositiveInt = 256,
        dropout: Rate = 0.2,
        embedding_dropout: Rate = 0.1,
        tie_weights: bool = False,
        adaptive_cutoffs: list[int] | None = None,
        adaptive_input: bool = False,
        lr: float = 2e-3,
        weight_decay: float = 0.0,
        lr_schedule: Literal["constant", "cosine"] = "constant",
        pretrained: Pretrained | None = None,
    ):
        super().__init__(data_spec, lr, weight_decay, lr_schedule, pretrained)
        self.save_hyperparameters()
        vocab_size = data_spec["vocab_size"]
        if tie_weights and adaptive_cutoffs and not adaptive_input:
            raise SeqlitError("model.tie_weights with model.adaptive_cutoffs needs model.adaptive_input: true "
                              "(the adaptive softmax's clusters are shared with the adaptive input's tables)")
        if adaptive_cutoffs and (list(adaptive_cutoffs) != sorted(set(adaptive_cutoffs))
                                 or not all(0 < c < vocab_size for c in adaptive_cutoffs)):
            raise SeqlitError(f"model.adaptive_cutoffs {adaptive_cutoffs} must increase and lie strictly between 0 and "
                              f"vocab_size={vocab_size}: set --model.init_args.adaptive_cutoffs accordingly, or null")
        if adaptive_input and not adaptive_cutoffs:
            raise SeqlitError("model.adaptive_input needs model.adaptive_cutoffs (it cuts the vocabulary at the same places): "
                              "set --model.init_args.adaptive_cutoffs, e.g. [1000, 5000], or adaptive_input false")
        if adaptive_input:
            try:
                self.embedding = AdaptiveInput(vocab_size, embedding_dim, list(adaptive_cutoffs))
            except ValueError as err:  # too narrow an embedding for this many clusters
                raise SeqlitError(f"model.adaptive_input with model.embedding_dim {embedding_dim}: {err}") from None
        else:
            self.embedding = nn.Embedding(vocab_size, embedding_dim)
        self.embedding_dropout = LockedDropout(embedding_dropout)
        self.backbone = self.build_backbone(backbone, embedding_dim, forward_only=LEFT_TO_RIGHT)
        hidden_size = self.backbone.output_size
        self.output_dropout = LockedDropout(dropout)
        self.project = nn.Linear(hidden_size, embedding_dim) if tie_weights and hidden_size != embedding_dim else None
        out_dim = hidden_size if self.project is None else embedding_dim
        if adaptive_cutoffs:
            self.adaptive = nn.AdaptiveLogSoftmaxWithLoss(out_dim, vocab_size, list(adaptive_cutoffs), div_value=4.0)
            self.decoder = None
            if tie_weights:
                self.embedding.tie_to(self.adaptive)
        else:
            self.adaptive = None
            self.decoder = nn.Linear(out_dim, vocab_size)
            if tie_weights:
                self.decoder.weight = self.embedding.weight
        # token-weighted mean NLL in float64, synced across ranks: exp of it is the split's perplexity
        self.train_nll = MeanMetric().set_dtype(torch.float64)
        self.track_metrics()
        self._state = {"train": None, "val": None, "test": None}

    # -- model ---------------------------------------------------------------
    def features(self, input_ids: torch.Tensor, state=None):
        """Hidden features for every position, and the recurrent state after the last one."""
        x = self.embedding_dropout(self.embedding(input_ids))
        out, state = self.backbone(x, state=state)
        out = self.output_dropout(out)
        if self.project is not None:
            out = self.project(out)
        return out, state

    def log_probs(self, features: torch.Tensor) -> torch.Tensor:
        if self.adaptive is not None:
            return self.adaptive.log_prob(features.reshape(-1, features.size(-1))).view(*features.shape[:-1], -1)
        return F.log_softmax(self.decoder(features), dim=-1)

    def step(self, input_ids: torch.Tensor, state=None):
        """Log-probabilities of the next token after each position, and the new state (for sampling)."""
        out, state = self.features(input_ids, state)
        return self.log_probs(out), state

    def token_nll(self, features: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        """Summed negative log-likelihood of `targets` (nats)."""
        flat, tgt = features.reshape(-1, features.size(-1)), targets.reshape(-1)
        if self.adaptive is not None:
            return self.adaptive(flat, tgt).loss * tgt.numel()
        return F.cross_entropy(self.decoder(flat), tgt, reduction="sum")

    # -- scoring texts (`predict_text`) ------------------------------------------------
    def predict_batches(self, dm, lines, batch_size: int):
        """Each text as a line of the corpus: after a line break (the previous line's end), up to its own end.

        A language model's data module reads a corpus, not lines to label, so the task pads the texts
        here, with the data module's own tokenizer and vocabulary."""
        for start in range(0, len(lines), batch_size):
            chunk = lines[start:start + batch_size]
            texts = [text if isinstance(text, str) else str(text.get("text", "")) for _, text in chunk]
            ids = [dm.vocab.encode(dm.tokenize("")[-1:] + dm.tokenize(text)) for text in texts]
            inputs = pad_sequence([torch.tensor(x[:-1]) for x in ids], batch_first=True, padding_value=self.spec["pad_id"])
            targets = pad_sequence([torch.tensor(x[1:]) for x in ids], batch_first=True, padding_value=-100)
            yield {"index": torch.tensor([i for i, _ in chunk]), "texts": texts, "input_ids": inputs, "targets": targets}

    def predict_step(self, batch, batch_idx) -> list[dict]:
        """One record per text: its perplexity (and the mean NLL per token, in nats) under the model.

        Scoring rather than continuing: it is deterministic, and `generate` already continues a prompt."""
        features, _ = self.features(batch["input_ids"])
        targets = batch["targets"]
        mask = targets != -100
        log_probs = self.log_probs(features).gather(-1, targets.clamp(min=0).unsqueeze(-1)).squeeze(-1)
        nll = (-(log_probs * mask).sum(1) / mask.sum(1)).tolist()
        return [{"index": int(i), "text": text, "tokens": int(n), "nll": round(v, 6), "ppl": round(math.exp(v), 6)}
                for i, text, n, v in zip(batch["index"].tolist(), batch["texts"], mask.sum(1).tolist(), nll)]

    # -- loops ----------------------------------------------------------------
    def _run(self, batch, stage: str) -> tuple[torch.Tensor, int]:
        """Mean NLL per target token of one window, carrying the stage's streams' state into the next."""
        features, state = self.features(batch["input_ids"], self._state[stage])
        self._state[stage] = map_state(state, torch.Tensor.detach)
        n = batch["targets"].numel()
        return self.token_nll(features, batch["targets"]) / n, n

    def training_step(self, batch, batch_idx):
        loss, n = self._run(batch, "train")
        self.train_nll.update(loss.detach().double(), weight=n)
        self.log("train/loss", loss, prog_bar=True)
        return loss

    def evaluate(self, batch, stage, metrics):
        return self._run(batch, stage)

    def epoch_metrics(self, stage: str, loss: float) -> dict[str, float]:
        """Perplexity exp(NLL), and bits per character for character models. A NaN loss stays NaN."""
        values = {"ppl": math.exp(min(loss, 50.0)) if loss == loss else loss}
        if self.spec["level"] == "char":
            values["bpc"] = loss / math.log(2)
        return values

    def on_train_epoch_start(self):
        super().on_train_epoch_start()
        self._state["train"] = None

    def resume_state(self) -> dict[str, torch.Tensor]:
        """Adds the training streams' hidden state and the epoch's NLL sums (train/ppl covers the whole epoch)."""
        state = super().resume_state()
        carried = self._state["train"]
        if carried is not None:
            parts = carried if isinstance(carried, tuple) else (carried,)
            state.update({f"lm_state_{i}": part for i, part in enumerate(parts)})
        state.update({f"train_nll_{k}": v for k, v in self.train_nll.metric_state.items()})
        return state

    def load_resume_state(self, state: dict[str, torch.Tensor]) -> None:
        super().load_resume_state(state)
        parts = tuple(state[k].to(self.device) for k in sorted(state) if k.startswith("lm_state_"))
        if parts:
            self._state["train"] = parts if len(parts) > 1 else parts[0]
        for k in self.train_nll.metric_state:
            setattr(self.train_nll, k, state[f"train_nll_{k}"].to(self.device))

    def on_validation_epoch_start(self):
        self._state["val"] = None

    def on_test_epoch_start(self):
        self._state["test"] = None

    def on_train_epoch_end(self):
        nll = float(self.train_nll.compute())
        self.train_nll.reset()
        for name, value in self.epoch_metrics("train", nll).items():
            self.log(f"train/{name}", value, sync_dist=True)  # synced by the metric; a no-op mean
