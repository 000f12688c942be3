"""Many-to-many (Tx = Ty): one tag per token, e.g. named entities.

    x<t> = [E_word · w<t> ; E_case · casing<t> ; charfeatures(word t)]   (dropout)
    a<t> = backbone(x<1..T>)<t>               (any backbone; a bidirectional one by default)
    e<t> = W · dropout(a<t>) + b              (one score per tag)
    ŷ<t> = argmax softmax(e<t>)    or  ŷ = Viterbi over a CRF (tag transitions, BIO-constrained)

Character features and the casing class recognise words never seen in training; words seen once are replaced
by `<unk>` with probability `rare_unk` while training, so `<unk>` is trained on words like those it will meet.
Scored by entity-level span F1 (seqeval semantics).
"""

from __future__ import annotations

from typing import Literal

import torch
import torch.nn.functional as F
from pytorch_lightning.utilities import rank_zero_info
from torch import Tensor, nn

from seqlit.errors import SeqlitError
from seqlit.metrics import SpanF1, bio_spans
from seqlit.nn.backbone import Backbone, BackboneFactory, activation
from seqlit.nn.crf import CRF
from seqlit.nn.types import PositiveInt, Rate, check
from seqlit.tasks.base import SeqTask
from seqlit.transfer import Pretrained, pretrained as transfer

BACKBONE = {"class_path": "seqlit.nn.Recurrent", "init_args": {"kind": "lstm", "hidden_size": 200, "bidirectional": True}}


class CharCNN(nn.Module):
    """Character embeddings -> 1-D convolution -> max over the word's characters (Ma & Hovy, 2016)."""

    def __init__(self, vocab_size: int, pad_id: int, dim: int, features: int, kernel: int):
        super().__init__()
        self.pad_id = pad_id
        self.embedding = nn.Embedding(vocab_size, dim, padding_idx=pad_id)
        self.conv = nn.Conv1d(dim, features, kernel, padding=kernel // 2)

    def forward(self, chars: Tensor) -> Tensor:
        """chars (B, T, L) -> (B, T, features); padding characters never win the max."""
        b, t, length = chars.shape
        flat = chars.reshape(b * t, length)
        h = self.conv(self.embedding(flat).transpose(1, 2))[..., :length]
        real = (flat != self.pad_id).unsqueeze(1)
        h = h.masked_fill(~real, float("-inf")).amax(dim=2)
        return h.masked_fill(~real.any(dim=2), 0.0).view(b, t, -1)


class CharRNN(nn.Module):
    """Character embeddings -> a bidirectional backbone (a BiLSTM); its top layer's two final activations
    (Lample et al., 2016)."""

    def __init__(self, vocab_size: int, pad_id: int, dim: int, backbone: Backbone):
        super().__init__()
        self.pad_id = pad_id
        self.embedding = nn.Embedding(vocab_size, dim, padding_idx=pad_id)
        self.rnn = backbone

    def forward(self, chars: Tensor) -> Tensor:
        b, t, length = chars.shape
        flat = chars.reshape(b * t, length)
        lengths = (flat != self.pad_id).sum(dim=1)
        words = lengths > 0  # padding tokens have no characters: skip them
        _, state = self.rnn(self.embedding(flat[words]), lengths=lengths[words])
        final = activation(state)[-2:]  # (2, N, H): the top layer's forward and backward final activations
        out = final.new_zeros(b * t, 2 * final.size(2))
        out[words] = torch.cat([final[0], final[1]], dim=1)
        return out.view(b, t, -1)


class Tagger(SeqTask):
    """Sequence tagger over any backbone (`seqlit.nn.backbone`).

    Args:
        data_spec: linked from the data module (vocabularies, casing classes, tag names).
        backbone: the recurrent backbone (`seqlit.nn.backbone`); its input is the token features.
        embedding_dim / casing_dim: embedding sizes of words and casing classes.
        char_encoder: `cnn`, `rnn` (character BiLSTM, on the backbone's backend) or `none`.
        char_dim / char_features / char_kernel: character embedding size, features per word,
            CNN kernel width.
        embedding_dropout: dropout on the concatenated token features.
        dropout: dropout on the backbone's output.
        rare_unk: probability of replacing a word seen once in training by `<unk>` (training only).
        word_dropout: probability of replacing any other word by `<unk>` (training only).
        output: `crf` (transition scores, Viterbi decoding) or `softmax` (independent per token).
        constrain_bio: forbid CRF transitions invalid in BIO/IOB2 (needs O/B-X/I-X tag names, and data
            converted to IOB2: the data module's default, `keep_iob1: false`).
        pretrained: word vectors or a seqlit LM for the word embedding (and backbone), and how they are
            fine-tuned; `char_lms` adds each word's states in forward/backward character LMs to its
            features (Flair-style; `seqlit.transfer`, docs/transfer.md).
        lr / weight_decay / lr_schedule: fused AdamW, constant or cosine over the run's budget
            (see `SeqTask.configure_optimizers`), unless the config gives `optimizer:`.
    """

    monitor = "val/f1"
    monitor_mode = "max"
    task_name = "tagging"
    headline = "test/f1"
    directions = {"loss": -1, "f1": 1, "precision": 1, "recall": 1}
    word_embedding_path = "word_embedding"
    required_spec = ("vocab_size", "pad_id", "unk_id", "rare_start", "char_vocab_size", "char_pad_id",
                     "num_casings", "label_names")

    def __init__(
        self,
        data_spec: dict | None = None,
        backbone: BackboneFactory = BACKBONE,
        embedding_dim: PositiveInt = 100,
        casing_dim: PositiveInt = 10,
        char_encoder: Literal["cnn", "rnn", "none"] = "cnn",
        char_dim: PositiveInt = 30,
        char_features: PositiveInt = 50,
        char_kernel: PositiveInt = 3,
        embedding_dropout: Rate = 0.5,
        dropout: Rate = 0.5,
        rare_unk: Rate = 0.5,
        word_dropout: Rate = 0.0,
        output: Literal["crf", "softmax"] = "crf",
        constrain_bio: bool = True,
        lr: float = 1e-3,
        weight_decay: float = 0.0,
        lr_schedule: Literal["constant", "cosine"] = "constant",
        pretrained: Pretrained | None = None,
    ):
        super().__init__(data_spec, lr, weight_decay, lr_schedule, pretrained)
        self.save_hyperparameters()
        check("Tagger", Rate, embedding_dropout=embedding_dropout, dropout=dropout, rare_unk=rare_unk,
              word_dropout=word_dropout)
        spec = data_spec
        self.tag_names = list(spec["label_names"])
        self.rare_unk, self.word_dropout = rare_unk, word_dropout
        self.word_embedding = nn.Embedding(spec["vocab_size"], embedding_dim, padding_idx=spec["pad_id"])
        # small start (Lample et al.): torch's N(0, 1) leaves rare words, rarely updated, as loud noise
        bound = (3.0 / embedding_dim) ** 0.5
        with torch.no_grad():
            self.word_embedding.weight.uniform_(-bound, bound)[spec["pad_id"]] = 0.0
        self.casing_embedding = nn.Embedding(spec["num_casings"], casing_dim, padding_idx=0)
        if char_encoder == "cnn":
            self.chars = CharCNN(spec["char_vocab_size"], spec["char_pad_id"], char_dim, char_features, char_kernel)
        elif char_encoder == "rnn":
            if char_features % 2:
                raise SeqlitError(f"model.char_features must be even for char_encoder=rnn (two directions), got {char_features}")
            chars = self.build_backbone({"kind": "lstm", "hidden_size": char_features // 2, "bidirectional": True}, char_dim)
            self.chars = CharRNN(spec["char_vocab_size"], spec["char_pad_id"], char_dim, chars)
        else:
            self.chars, char_features = None, 0
        self.char_lms = transfer.char_lm_features(self)
        contextual = self.char_lms.output_size if self.char_lms is not None else 0
        self.embedding_dropout = nn.Dropout(embedding_dropout)
        self.backbone = self.build_backbone(backbone, embedding_dim + casing_dim + char_features + contextual)
        if isinstance(self.chars, CharRNN) and hasattr(self.chars.rnn, "backend"):  # on the word backbone's backend
            self.chars.rnn.backend = getattr(self.backbone, "backend", "fused")
        self.output_dropout = nn.Dropout(dropout)
        self.scores = nn.Linear(self.backbone.output_size, len(self.tag_names))
        self.crf = None
        if output == "crf":
            bio = all(n == "O" or n.startswith(("B-", "I-")) for n in self.tag_names)
            if constrain_bio and not bio:
                raise SeqlitError(f"model.constrain_bio needs BIO tag names (O, B-X, I-X), got {self.tag_names}: "
                                  "set --model.init_args.constrain_bio false")
            if constrain_bio and spec.get("keeps_iob1"):
                raise SeqlitError("data.keep_iob1 keeps IOB1 tags, where an I-X may open a span, which model.constrain_bio "
                                  "forbids (such gold paths would be impossible): set --model.init_args.constrain_bio false, "
                                  "or let the data be converted to IOB2 (--data.init_args.keep_iob1 false)")
            self.crf = CRF(len(self.tag_names), self.tag_names, constrain_bio=constrain_bio)
        self.track_metrics()

    def metrics(self):
        return {"spans": SpanF1(self.tag_names)}

    def render(self, record: dict) -> str:
        spans = [f'{e["type"]} "{e["text"]}" [{e["start"]}, {e["end"]})' for e in record["entities"]]
        return f"{record['text']}\n  " + ("   ".join(spans) or "(no entities)")

    def head(self):
        return "crf" if self.crf is not None else None

    # -- model ---------------------------------------------------------------
    def emissions(self, batch: dict) -> Tensor:
        """Tag scores (B, T, K) for every token."""
        words = batch["input_ids"]
        if self.training and (self.rare_unk > 0 or self.word_dropout > 0):
            p = torch.full(words.shape, self.word_dropout, device=words.device)
            p = p.masked_fill(words >= self.spec["rare_start"], self.rare_unk)
            unk = (torch.rand_like(p) < p) & (words != self.spec["pad_id"])
            words = words.masked_fill(unk, self.spec["unk_id"])
        features = [self.word_embedding(words), self.casing_embedding(batch["casing"])]
        if self.chars is not None:
            features.append(self.chars(batch["chars"]))
        if self.char_lms is not None:
            features.append(self.char_lms(batch["tokens"], words.size(1)))
        x = self.embedding_dropout(torch.cat(features, dim=-1))
        lengths = batch["lengths"]
        # a batch without padding needs no packing, and unpacked is the fast (oneDNN/cuDNN) path
        out, _ = self.backbone(x, lengths=None if bool((lengths == x.size(1)).all()) else lengths)
        return self.scores(self.output_dropout(out))

    @staticmethod
    def mask(batch: dict) -> Tensor:
        lengths = batch["lengths"].to(batch["input_ids"].device)
        return torch.arange(batch["input_ids"].size(1), device=lengths.device) < lengths.unsqueeze(1)

    def loss(self, emissions: Tensor, tags: Tensor, mask: Tensor) -> Tensor:
        """Mean negative log-likelihood per token (CRF: of the whole sequence, divided by its tokens)."""
        if self.crf is not None:
            return self.crf(emissions, tags, mask).sum() / mask.sum()
        return F.cross_entropy(emissions.flatten(0, 1), tags.flatten(), ignore_index=-100)

    def decode(self, emissions: Tensor, mask: Tensor) -> Tensor:
        if self.crf is not None:
            return self.crf.decode(emissions, mask)
        return emissions.argmax(dim=-1).masked_fill(~mask, 0)

    # -- loops ----------------------------------------------------------------
    def training_step(self, batch, batch_idx):
        mask = self.mask(batch)
        loss = self.loss(self.emissions(batch), batch["tags"], mask)
        self.log("train/loss", loss, prog_bar=True, batch_size=mask.size(0))
        return loss

    def evaluate(self, batch, stage, metrics):
        """Span counts of the decoded tags; the loss per token."""
        mask = self.mask(batch)
        emissions = self.emissions(batch)
        gold = batch["tags"].masked_fill(~mask, 0)
        metrics["spans"].update(self.decode(emissions, mask), gold, mask)
        return self.loss(emissions, batch["tags"], mask), mask.sum()

    def predict_step(self, batch, batch_idx) -> list[dict]:
        """One JSON-ready record per sentence: tokens, tags and entity spans with character offsets.

        Spans: `start`/`end` are character offsets into `text` and `token_start`/`token_end`
        token positions, ends exclusive (`text[start:end]` is the entity).
        """
        mask = self.mask(batch)
        paths = self.decode(self.emissions(batch), mask).tolist()
        records = []
        for i, path in enumerate(paths):
            text, offsets = batch["text"][i], batch["offsets"][i]
            tags = [self.tag_names[t] for t in path[: len(offsets)]]
            entities = []
            for type_, first, last in bio_spans(tags):
                start, end = offsets[first][0], offsets[last][1]
                entities.append({"type": type_, "start": start, "end": end, "text": text[start:end],
                                 "token_start": first, "token_end": last + 1})
            records.append({"index": batch["index"][i], "text": text, "tokens": batch["tokens"][i],
                            "tags": tags, "entities": entities})
        return records

    def table_rows(self, batch: dict) -> list[dict[str, str]]:
        mask = self.mask(batch)
        paths = self.decode(self.emissions(batch), mask).tolist()
        rows = []
        for tokens, path, gold in zip(batch["tokens"], paths, batch["tags"].tolist()):
            rows.append({"tokens": " ".join(tokens), "gold": " ".join(self.tag_names[t] for t in gold[: len(tokens)]),
                         "predicted": " ".join(self.tag_names[t] for t in path[: len(tokens)])})
        return rows

    # -- epoch ends -----------------------------------------------------------
    def on_test_epoch_end(self):
        """The test report adds F1 per entity type (`test/f1_PER` …) and prints the table."""
        per_type = self.eval_metrics["test"]["spans"].per_type()
        self.log_stage("test")
        lines = [f"{'type':<10}{'precision':>10}{'recall':>10}{'f1':>10}{'support':>10}"]
        for type_, s in per_type.items():
            self.log(f"test/f1_{type_}", s["f1"], sync_dist=True)
            lines.append(f"{type_:<10}{s['precision']:>10.4f}{s['recall']:>10.4f}{s['f1']:>10.4f}{s['support']:>10}")
        rank_zero_info("[seqlit] test entity scores by type:\n" + "\n".join(lines))
