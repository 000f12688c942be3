"""Encoder–decoder (Tx ≠ Ty): read the whole source, then write the target one token at a time.

    a<1..Tx>, state = backbone(E_src x<1..Tx>)         encoder: any backbone (kind, depth, backend, direction)
    s<0> = tanh(W_b [a→<Tx>; a←<1>])                    bridge: the top layer's final states, to every decoder layer
    c<t> = Σ α<t,t'> a<t'>,  α from score(s<t-1>, a<t'>) attention (additive | multiplicative | none)
    s<t> = decoder.step([E_tgt y<t-1>; c<t>], s<t-1>)   decoder: any unidirectional backbone, one token per step
    ŷ<t> = softmax(W_y [s<t>; c<t>] + b_y)

Training uses teacher forcing; inference is greedy or beam search ranked by log P(y|x) / Ty^alpha. Encoder and
decoder are built from the same cells, so `backend: scratch` in both runs the course's equations end to end.
"""

from __future__ import annotations

from typing import Literal

import torch
import torch.nn.functional as F
from torch import Tensor, nn
from torchmetrics import MeanMetric
from torchmetrics.text import SacreBLEUScore

from seqlit.errors import SeqlitError
from seqlit.nn.attention import build_attention
from seqlit.nn.backbone import BackboneFactory, State, activation, map_state
from seqlit.nn.types import PositiveInt, Rate, check
from seqlit.tasks.base import Bridge, SeqTask
from seqlit.transfer import Pretrained

Monitor = Literal["val/bleu", "val/exact_match", "val/loss"]
BACKBONE = {"class_path": "seqlit.nn.Recurrent", "init_args": {"kind": "gru", "hidden_size": 256, "bidirectional": True}}
DECODER = {"class_path": "seqlit.nn.Recurrent", "init_args": {"kind": "gru", "hidden_size": 512}}


class Bleu(SacreBLEUScore):
    """SacreBLEU on its 0-100 scale, as papers report it."""

    def compute(self) -> Tensor:
        return super().compute() * 100


class Seq2Seq(SeqTask):
    """Recurrent encoder–decoder with optional attention, greedy and beam-search decoding.

    Args:
        data_spec: linked from the data module (vocabulary sizes, pad / <bos> / <eos> ids).
        backbone: the encoder (`seqlit.nn.backbone`), reading the source vectors.
        decoder: the decoder, a unidirectional backbone stepped one token at a time (its hidden_size is
            the size of s<t>); it reads [E_tgt y<t-1>; c<t>].
        embedding_dim: size of the source and the target word (or character) vectors.
        attention: `additive` (Bahdanau) | `multiplicative` (Luong "general") | `none`
            (the decoder then sees the source only through its initial state).
        attention_size: hidden layer of the additive score (None: the decoder's hidden_size).
        dropout: on embeddings and before the output layer.
        decode: how `val`/`test`/`predict` decode: `greedy` | `beam`.
        beam_size: hypotheses kept by beam search.
        alpha: length normalisation exponent of beam search (score = log P / length^alpha).
        max_output_length: tokens written at most (the <eos> included).
        bleu_tokenize: SacreBLEU tokenizer (`13a` for words; `char` scores characters, for the date task).
        monitor: metric that picks the best checkpoint (`val/exact_match` suits the date task).
        pretrained: word vectors or a seqlit LM for the word embedding (and backbone), and how they are
            fine-tuned (`seqlit.transfer`, docs/transfer.md).
        lr / weight_decay / lr_schedule: fused AdamW, constant or cosine over the run's budget
            (see `SeqTask.configure_optimizers`), unless the config gives `optimizer:`.
    """

    task_name = "translation"
    headline = "test/exact_match"
    directions = {"loss": -1, "bleu": 1, "exact_match": 1}
    word_embedding_path, word_vocab = "source_embedding", "source_vocab"  # transfer reaches the encoder's side
    required_spec = ("source_vocab_size", "target_vocab_size", "source_pad_id", "target_pad_id", "bos_id", "eos_id")

    def __init__(
        self,
        data_spec: dict | None = None,
        backbone: BackboneFactory = BACKBONE,
        decoder: BackboneFactory = DECODER,
        embedding_dim: PositiveInt = 256,
        attention: Literal["additive", "multiplicative", "none"] = "additive",
        attention_size: PositiveInt | None = None,
        dropout: Rate = 0.3,
        decode: Literal["greedy", "beam"] = "greedy",
        beam_size: PositiveInt = 5,
        alpha: float = 0.7,
        max_output_length: PositiveInt = 100,
        bleu_tokenize: Literal["13a", "char", "intl", "none"] = "13a",
        monitor: Monitor = "val/bleu",
        lr: float = 1e-3,
        weight_decay: float = 0.0,
        lr_schedule: Literal["constant", "cosine"] = "constant",
        pretrained: Pretrained | None = None,
    ):
        super().__init__(data_spec, lr, weight_decay, lr_schedule, pretrained)
        check("Seq2Seq", PositiveInt, beam_size=beam_size, max_output_length=max_output_length)
        self.save_hyperparameters()
        self.monitor, self.monitor_mode = monitor, "min" if monitor == "val/loss" else "max"
        self.decode, self.beam_size, self.alpha, self.max_output_length = decode, beam_size, alpha, max_output_length
        self.pad_id, self.bos_id, self.eos_id = data_spec["target_pad_id"], data_spec["bos_id"], data_spec["eos_id"]
        self.bleu_tokenize = bleu_tokenize

        self.source_embedding = nn.Embedding(data_spec["source_vocab_size"], embedding_dim, padding_idx=data_spec["source_pad_id"])
        self.target_embedding = nn.Embedding(data_spec["target_vocab_size"], embedding_dim, padding_idx=self.pad_id)
        self.backbone = self.build_backbone(backbone, embedding_dim)
        memory_size = self.backbone.output_size
        context_size = memory_size if attention != "none" else 0
        self.decoder = self.build_backbone(decoder, embedding_dim + context_size, key="decoder",
                                           forward_only="a decoder writes left to right")
        hidden = self.decoder.hidden_size
        self.bridge = Bridge(memory_size, self.decoder)
        self.attention = None if attention == "none" else \
            build_attention(attention, hidden, memory_size, attention_size or hidden)
        self.dropout = nn.Dropout(dropout)
        self.out = nn.Linear(self.decoder.output_size + context_size, data_spec["target_vocab_size"])
        # <pad> and <bos> are never outputs: give them no probability, in training and decoding alike
        never = torch.zeros(data_spec["target_vocab_size"], dtype=torch.bool)
        never[[self.pad_id, self.bos_id]] = True
        self.register_buffer("never", never, persistent=False)
        self.track_metrics()

    def metrics(self):
        return {"bleu": Bleu(tokenize=self.bleu_tokenize), "exact_match": MeanMetric()}

    def head(self):
        return "attn" if self.attention is not None else None

    def render(self, record: dict) -> str:
        return f"{record['source']}\n  → {record['translation']}"

    def describe(self):
        return {**super().describe(), "decoder": self.decoder.describe()}

    # -- model -----------------------------------------------------------------------------
    def encode(self, source_ids: Tensor, lengths: Tensor) -> tuple[Tensor, Tensor, Tensor | None, State]:
        """(memory (B, S, M), mask (B, S), attention keys or None, the decoder's first state)."""
        memory, final = self.backbone(self.dropout(self.source_embedding(source_ids)), lengths=lengths)
        a = activation(final)  # an LSTM encoder's (a, c): bridge from a
        top = torch.cat(list(a[-self.backbone.num_directions :]), dim=-1)  # forward after the last step, backward after the first
        state = self.bridge(top)
        mask = torch.arange(source_ids.size(1), device=source_ids.device)[None, :] < lengths.to(source_ids.device)[:, None]
        keys = self.attention.keys(memory) if self.attention is not None else None
        return memory, mask, keys, state

    def step(self, y_embedded: Tensor, state: State, memory: Tensor, mask: Tensor, keys: Tensor | None) -> tuple[Tensor, State]:
        """One decoder step: features [s<t>; c<t>] (N, F) for the output layer, and the new state."""
        inputs, context = y_embedded, None
        if self.attention is not None:
            context, _ = self.attention(activation(state)[-1], memory, mask, keys)  # attend with the top layer's s<t-1>
            inputs = torch.cat([y_embedded, context], dim=-1)
        out, state = self.decoder.step(inputs, state)
        return (out if context is None else torch.cat([out, context], dim=-1)), state

    def forward(self, source_ids: Tensor, source_lengths: Tensor, target_in: Tensor) -> Tensor:
        """Teacher-forced logits (B, T, V): step t reads the reference token t-1 (<bos> first)."""
        memory, mask, keys, state = self.encode(source_ids, source_lengths)
        embedded = self.dropout(self.target_embedding(target_in))
        features = []
        for t in range(target_in.size(1)):
            f, state = self.step(embedded[:, t], state, memory, mask, keys)
            features.append(f)
        return self.logits(self.dropout(torch.stack(features, dim=1)))

    def logits(self, features: Tensor) -> Tensor:
        return self.out(features).masked_fill(self.never, float("-inf"))

    def next_log_probs(self, y: Tensor, state: tuple, memory: Tensor, mask: Tensor, keys: Tensor | None) -> tuple[Tensor, tuple]:
        f, state = self.step(self.target_embedding(y), state, memory, mask, keys)
        return F.log_softmax(self.logits(f), dim=-1), state

    # -- decoding --------------------------------------------------------------------------
    @torch.no_grad()
    def greedy(self, source_ids: Tensor, source_lengths: Tensor, max_length: int | None = None) -> list[list[int]]:
        """The most probable next token at every step, until <eos> or `max_length` tokens."""
        memory, mask, keys, state = self.encode(source_ids, source_lengths)
        y = torch.full((source_ids.size(0),), self.bos_id, dtype=torch.long, device=source_ids.device)
        done = torch.zeros_like(y, dtype=torch.bool)
        out = []
        for _ in range(max_length or self.max_output_length):
            log_probs, state = self.next_log_probs(y, state, memory, mask, keys)
            y = log_probs.argmax(-1)
            out.append(y)
            done |= y == self.eos_id
            if done.all():
                break
        return [self.until_eos(row) for row in torch.stack(out, dim=1).tolist()]

    @torch.no_grad()
    def beam_search(self, source_ids: Tensor, source_lengths: Tensor, beam_size: int | None = None,
                    alpha: float | None = None, max_length: int | None = None) -> list[list[int]]:
        """Keep the `beam_size` most probable prefixes per sentence; return the best of the final beam
        (ended by <eos>, or cut at `max_length`) by log P / length^alpha, the <eos> counted in the length.
        All sentences and their beams run as one batch of B*K rows."""
        k = beam_size or self.beam_size
        alpha = self.alpha if alpha is None else alpha
        memory, mask, keys, state = self.encode(source_ids, source_lengths)
        batch, device = source_ids.size(0), source_ids.device
        expand = lambda x: None if x is None else x.repeat_interleave(k, dim=0)  # noqa: E731
        memory, mask, keys = expand(memory), expand(mask), expand(keys)
        state = map_state(state, lambda s: s.repeat_interleave(k, dim=1))
        scores = torch.full((batch, k), float("-inf"), device=device)
        scores[:, 0] = 0.0  # the k copies start identical: only the first may extend
        tokens = torch.empty(batch, k, 0, dtype=torch.long, device=device)
        finished = torch.zeros(batch, k, dtype=torch.bool, device=device)
        length = torch.zeros(batch, k, device=device)
        y = torch.full((batch * k,), self.bos_id, dtype=torch.long, device=device)
        for _ in range(max_length or self.max_output_length):
            log_probs, state = self.next_log_probs(y, state, memory, mask, keys)
            vocab = log_probs.size(-1)
            log_probs = log_probs.view(batch, k, vocab)
            # a finished hypothesis may only repeat <eos>, at no cost: it keeps its score and its slot
            frozen = torch.full((vocab,), float("-inf"), device=device)
            frozen[self.eos_id] = 0.0
            log_probs = torch.where(finished[..., None], frozen, log_probs)
            scores, flat = (scores[..., None] + log_probs).view(batch, k * vocab).topk(k, dim=-1)
            origin, y = flat // vocab, flat % vocab
            tokens = torch.cat([tokens.gather(1, origin[..., None].expand(-1, -1, tokens.size(-1))), y[..., None]], dim=-1)
            was_finished = finished.gather(1, origin)
            length = length.gather(1, origin) + (~was_finished).float()
            finished = was_finished | (y == self.eos_id)
            rows = (origin + torch.arange(batch, device=device)[:, None] * k).view(-1)
            state, y = map_state(state, lambda s: s[:, rows]), y.view(-1)
            if finished.all():
                break
        best = (scores / length.clamp(min=1) ** alpha).argmax(-1)
        return [self.until_eos(row) for row in tokens[torch.arange(batch, device=device), best].tolist()]

    def until_eos(self, ids: list[int]) -> list[int]:
        return ids[: ids.index(self.eos_id)] if self.eos_id in ids else ids

    def translate(self, source_ids: Tensor, source_lengths: Tensor) -> list[list[int]]:
        """Output ids per sentence, decoded as `decode` says."""
        return (self.beam_search if self.decode == "beam" else self.greedy)(source_ids, source_lengths)

    def texts(self, ids: list[list[int]]) -> list[str]:
        dm = self.data_module()
        if not hasattr(dm, "target_text"):
            raise SeqlitError("Seq2Seq needs its data module (a TranslationData or DatesData) to turn outputs into text")
        return [dm.target_text(x) for x in ids]

    # -- loops -------------------------------------------------------------------------------
    def loss(self, batch) -> Tensor:
        logits = self(batch["source_ids"], batch["source_lengths"], batch["target_in"])
        return F.cross_entropy(logits.flatten(0, 1), batch["target_out"].flatten(), ignore_index=self.pad_id)

    def training_step(self, batch, batch_idx):
        loss = self.loss(batch)
        self.log("train/loss", loss, prog_bar=True, batch_size=batch["source_ids"].size(0))
        return loss

    def evaluate(self, batch, stage, metrics):
        """Decoded texts against the references (BLEU, exact match); the teacher-forced loss per target token."""
        loss = self.loss(batch)
        hypotheses = self.texts(self.translate(batch["source_ids"], batch["source_lengths"]))
        references = batch["references"]
        metrics["bleu"].update(hypotheses, [[r] for r in references])
        metrics["exact_match"].update(torch.tensor([float(h == r) for h, r in zip(hypotheses, references)], device=self.device))
        return loss, (batch["target_out"] != self.pad_id).sum()

    def table_rows(self, batch: dict) -> list[dict[str, str]]:
        translations = self.texts(self.translate(batch["source_ids"], batch["source_lengths"]))
        return [{"source": s, "reference": r, "translation": t}
                for s, r, t in zip(batch["sources"], batch["references"], translations)]

    def predict_step(self, batch, batch_idx) -> list[dict]:
        """One JSON-ready record per source sentence: its index (line number), text and translation."""
        translations = self.texts(self.translate(batch["source_ids"], batch["source_lengths"]))
        return [{"index": int(i), "source": s, "translation": t}
                for i, s, t in zip(batch["index"].tolist(), batch["sources"], translations)]
