"""Entity-level (span) precision / recall / F1 for BIO-style tagging.

Papers report span F1 as conlleval / seqeval compute it, so span extraction replicates seqeval's default
(non-strict) mode exactly, ill-formed sequences included (``O I-PER`` is a PER span). ``SpanF1`` keeps per-type
counts as sum-reduced states, so under DDP the summed counts give the same result as one process.
"""

import torch
from torch import Tensor
from torchmetrics import Metric

Span = tuple[str, int, int]

# conlleval's "outside" prefixes: they never start a chunk, and a type change
# after them does not close one.  "." is a legacy conlleval tag kept so that
# our spans equal seqeval's on any input.
_OUTSIDE = ("O", ".")


def _split(label: str) -> tuple[str, str]:
    """Split a label into (prefix letter, entity type) exactly as seqeval does.

    ``"B-PER" -> ("B", "PER")``; a label without a type (``"O"``, ``"B"``) gets
    the placeholder type ``"_"``.
    """
    return label[0], label[1:].split("-", maxsplit=1)[-1] or "_"


def _chunk_ends(prev_tag: str, tag: str, prev_type: str, type_: str) -> bool:
    """Whether a chunk ends between the previous and the current token."""
    return (
        prev_tag in ("E", "S")
        or (prev_tag in ("B", "I") and tag in ("B", "S", "O"))
        or (prev_tag not in _OUTSIDE and prev_type != type_)
    )


def _chunk_starts(prev_tag: str, tag: str, prev_type: str, type_: str) -> bool:
    """Whether a chunk starts at the current token."""
    return (
        tag in ("B", "S")
        or (tag in ("I", "E") and prev_tag in ("O", "E", "S"))
        or (tag not in _OUTSIDE and prev_type != type_)
    )


def bio_spans(tags: list[str]) -> list[Span]:
    """Entity spans ``(type, first, last)`` (inclusive) of one tag sequence.

    Same output as ``seqeval.metrics.sequence_labeling.get_entities`` on a flat
    list (prefix mode), for BIO/IOB1/IOB2 and also E-/S- (BIOES) prefixes.
    """
    spans = []
    prev_tag, prev_type, begin = "O", "", 0
    # A trailing "O" closes a chunk that runs to the end of the sequence.
    for i, label in enumerate([*tags, "O"]):
        tag, type_ = _split(label)
        if _chunk_ends(prev_tag, tag, prev_type, type_):
            spans.append((prev_type, begin, i - 1))
        if _chunk_starts(prev_tag, tag, prev_type, type_):
            begin = i
        prev_tag, prev_type = tag, type_
    return spans


def _starts_span(prev: str, label: str) -> bool:
    """An ``I-X`` after anything but ``B-X`` / ``I-X``: it opens a span (IOB1), where IOB2 writes ``B-X``."""
    return label.startswith("I-") and prev not in ("B-" + label[2:], "I-" + label[2:])


def count_invalid_bio(tags: list[str]) -> int:
    """Number of ``I-X`` tags not preceded by ``B-X`` or ``I-X``.

    Such transitions are legal in IOB1 and tolerated by the metric, but a
    BIO-constrained CRF gives a gold path containing one a huge loss, so the
    tagging data converts them (``to_iob2``) and the CRF tests count them.
    """
    return sum(_starts_span(prev, label) for prev, label in zip(["O", *tags], tags))


def to_iob2(tags: list[str]) -> list[str]:
    """The same spans in IOB2: each ``I-X`` that opens a span becomes ``B-X``.

    IOB1 (CoNLL-2003's original files) writes ``B-X`` only between two adjacent
    spans of one type; IOB2 begins every span with ``B-X``. Both read as the
    same spans (``bio_spans``), so converting changes no gold span, only the
    tags a BIO-constrained CRF would otherwise find impossible.
    """
    return ["B-" + label[2:] if _starts_span(prev, label) else label for prev, label in zip(["O", *tags], tags)]


def _safe_div(num: Tensor, den: Tensor) -> Tensor:
    """``num / den`` with 0 where ``den == 0`` (seqeval's default); ``num`` is 0 there too."""
    return num / torch.where(den == 0, torch.ones_like(den), den)


def _prf(tp: Tensor, pred: Tensor, gold: Tensor) -> tuple[Tensor, Tensor, Tensor]:
    """Precision, recall and F1 from counts, with seqeval's formulas and zero handling."""
    tp, pred, gold = tp.float(), pred.float(), gold.float()
    precision, recall = _safe_div(tp, pred), _safe_div(tp, gold)
    return precision, recall, _safe_div(2 * precision * recall, precision + recall)


class SpanF1(Metric):
    """Micro span precision/recall/F1 over a fixed set of entity types.

    Entity types are derived from ``tag_names`` (the label of each tag id), so
    any BIO/IOB2 tag set works.  ``update`` takes tag-id tensors ``(B, T)`` and
    a bool ``mask`` marking real (non-padding) tokens.
    """

    is_differentiable = False
    higher_is_better = True
    full_state_update = False

    def __init__(self, tag_names: list[str], **kwargs) -> None:
        super().__init__(**kwargs)
        self.tag_names = list(tag_names)
        # Only labels whose prefix can open a chunk contribute a type, so every
        # span bio_spans can return over these labels has an index here.
        self.types = sorted({_split(n)[1] for n in self.tag_names if _split(n)[0] not in _OUTSIDE})
        self._type_index = {t: i for i, t in enumerate(self.types)}
        for name in ("true_positives", "pred_count", "gold_count"):
            self.add_state(name, default=torch.zeros(len(self.types), dtype=torch.long), dist_reduce_fx="sum")

    def _spans(self, ids: list[int], keep: list[bool]) -> set[Span]:
        return set(bio_spans([self.tag_names[i] for i, k in zip(ids, keep) if k]))

    def _counts(self, spans: list[Span]) -> Tensor:
        counts = [0] * len(self.types)
        for type_, _, _ in spans:
            counts[self._type_index[type_]] += 1
        return torch.tensor(counts, dtype=torch.long, device=self.gold_count.device)

    def update(self, preds: Tensor, target: Tensor, mask: Tensor) -> None:
        if not preds.shape == target.shape == mask.shape:
            raise ValueError(f"shape mismatch: preds {preds.shape}, target {target.shape}, mask {mask.shape}")
        # Span extraction is sequential string logic, so it runs on the host.
        tp, pred_all, gold_all = [], [], []
        for p_ids, g_ids, keep in zip(preds.tolist(), target.tolist(), mask.tolist()):
            pred, gold = self._spans(p_ids, keep), self._spans(g_ids, keep)
            tp.extend(pred & gold)
            pred_all.extend(pred)
            gold_all.extend(gold)
        self.true_positives += self._counts(tp)
        self.pred_count += self._counts(pred_all)
        self.gold_count += self._counts(gold_all)

    def compute(self) -> dict[str, Tensor]:
        precision, recall, f1 = _prf(self.true_positives.sum(), self.pred_count.sum(), self.gold_count.sum())
        return {"precision": precision, "recall": recall, "f1": f1}

    def per_type(self) -> dict[str, dict[str, float]]:
        """Per-type ``precision``, ``recall``, ``f1`` and ``support`` (gold spans), for a test report.

        Includes every type of the tag set, also those never seen (all zeros).
        Under DDP the states are synced first, so every rank must call this.
        """
        with self.sync_context(dist_sync_fn=self.dist_sync_fn, should_sync=self._to_sync):
            precision, recall, f1 = _prf(self.true_positives, self.pred_count, self.gold_count)
            support = self.gold_count.tolist()
        return {
            type_: {"precision": p, "recall": r, "f1": f, "support": s}
            for type_, p, r, f, s in zip(self.types, precision.tolist(), recall.tolist(), f1.tolist(), support)
        }
