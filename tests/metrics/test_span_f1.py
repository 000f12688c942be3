"""SpanF1 must give exactly seqeval's numbers, also on ill-formed sequences."""

import warnings

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from seqeval.metrics import classification_report, f1_score, precision_score, recall_score
from seqeval.metrics.sequence_labeling import get_entities

from seqlit.metrics import SpanF1, bio_spans, count_invalid_bio, to_iob2

TAGS = ["O", "B-PER", "I-PER", "B-LOC", "I-LOC"]
BIOES = TAGS + ["E-PER", "S-PER", "E-LOC", "S-LOC"]


def seqeval_scores(gold: list[list[str]], pred: list[list[str]]) -> tuple[dict, dict]:
    """seqeval's micro scores and per-type report, its zero-division warnings silenced."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        micro = {
            "precision": precision_score(gold, pred),
            "recall": recall_score(gold, pred),
            "f1": f1_score(gold, pred),
        }
        report = classification_report(gold, pred, output_dict=True)
    return micro, report


def encode(seqs: list[list[str]], names: list[str], pad_id: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Pad label sequences into ids (B, T) and a prefix mask."""
    length = max(map(len, seqs))
    ids = torch.full((len(seqs), length), pad_id)
    mask = torch.zeros(len(seqs), length, dtype=torch.bool)
    for b, seq in enumerate(seqs):
        ids[b, : len(seq)] = torch.tensor([names.index(t) for t in seq])
        mask[b, : len(seq)] = True
    return ids, mask


def metric_on(gold: list[list[str]], pred: list[list[str]], names: list[str] = TAGS) -> SpanF1:
    """A SpanF1 updated on one batch; padding uses a B- tag so leaking padding would change spans."""
    pad_id = names.index("B-PER")
    target, mask = encode(gold, names, pad_id)
    preds, pred_mask = encode(pred, names, pad_id)
    assert torch.equal(mask, pred_mask)
    metric = SpanF1(names)
    metric.update(preds, target, mask)
    return metric


def assert_matches_seqeval(metric: SpanF1, gold: list[list[str]], pred: list[list[str]]) -> None:
    micro, report = seqeval_scores(gold, pred)
    result = metric.compute()
    for key in ("precision", "recall", "f1"):
        assert result[key].item() == pytest.approx(micro[key], abs=1e-6), key
    per_type = metric.per_type()
    for type_, row in per_type.items():
        expected = report.get(type_, {"precision": 0.0, "recall": 0.0, "f1-score": 0.0, "support": 0})
        assert row["precision"] == pytest.approx(expected["precision"], abs=1e-6)
        assert row["recall"] == pytest.approx(expected["recall"], abs=1e-6)
        assert row["f1"] == pytest.approx(expected["f1-score"], abs=1e-6)
        assert row["support"] == expected["support"]
    reported_types = {k for k in report if not k.endswith(" avg")}
    assert reported_types <= set(per_type)


def paired_batches(names: list[str]):
    """Batches of (gold, pred) label sequences of equal lengths, any tag order (incl. invalid)."""
    pair = st.integers(1, 8).flatmap(
        lambda n: st.tuples(*(st.lists(st.sampled_from(names), min_size=n, max_size=n) for _ in range(2)))
    )
    return st.lists(pair, min_size=1, max_size=4)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from(BIOES + ["B", "I", "E", "S"]), max_size=12))
def test_bio_spans_equal_seqeval_get_entities(tags):
    """Also bare prefixes, whose placeholder type "_" exercises the prefix rules on their own."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert bio_spans(tags) == get_entities(tags)


@settings(max_examples=200, deadline=None)
@given(paired_batches(TAGS))
def test_span_f1_equals_seqeval(batch):
    gold, pred = [g for g, _ in batch], [p for _, p in batch]
    assert_matches_seqeval(metric_on(gold, pred), gold, pred)


@settings(max_examples=50, deadline=None)
@given(paired_batches(BIOES))
def test_span_f1_equals_seqeval_bioes(batch):
    gold, pred = [g for g, _ in batch], [p for _, p in batch]
    assert_matches_seqeval(metric_on(gold, pred, BIOES), gold, pred)


@pytest.mark.parametrize(
    ("gold", "pred", "expected_f1"),
    [
        # seqeval's documented example: MISC boundary wrong, PER right.
        (
            [["O", "O", "O", "B-MISC", "I-MISC", "I-MISC", "O"], ["B-PER", "I-PER", "O"]],
            [["O", "O", "B-MISC", "I-MISC", "I-MISC", "I-MISC", "O"], ["B-PER", "I-PER", "O"]],
            0.5,
        ),
        # IOB1-style "O I-PER" is read as a PER span starting at the I- tag.
        ([["O", "B-PER", "I-PER"]], [["O", "I-PER", "I-PER"]], 1.0),
        # "B-PER I-LOC" is two spans, so only the PER one matches a gold "B-PER".
        ([["B-PER", "O"]], [["B-PER", "I-LOC"]], 2 / 3),
        # No spans at all: seqeval's zero-division convention gives 0.
        ([["O", "O"]], [["O", "O"]], 0.0),
    ],
)
def test_hand_written_cases(gold, pred, expected_f1):
    names = sorted({t for seq in gold + pred for t in seq} | {"B-PER"})
    metric = metric_on(gold, pred, names)
    assert metric.compute()["f1"].item() == pytest.approx(expected_f1, abs=1e-6)
    assert_matches_seqeval(metric, gold, pred)


def test_types_come_from_tag_names():
    assert SpanF1(["O", "B-GENE", "I-GENE", "B-CHEM", "I-CHEM"]).types == ["CHEM", "GENE"]


def test_padding_is_ignored():
    target = torch.tensor([[1, 2, 0, 0], [3, 4, 4, 0]])
    mask = torch.tensor([[True, True, False, False], [True, True, True, False]])
    garbage = torch.tensor([[0, 0, 3, 4], [0, 0, 0, 1]])  # spans only in the padding
    metric = SpanF1(TAGS)
    metric.update(torch.where(mask, target, garbage), torch.where(mask, target, garbage.flip(1)), mask)
    assert metric.per_type()["PER"]["support"] == 1
    assert metric.per_type()["LOC"]["support"] == 1
    assert metric.compute()["f1"].item() == pytest.approx(1.0)


def test_halves_merged_equal_whole():
    """Sum-reduced states: merging shard metrics equals one metric on all data, as under DDP."""
    gen = torch.Generator().manual_seed(0)
    preds = torch.randint(len(TAGS), (16, 10), generator=gen)
    target = torch.randint(len(TAGS), (16, 10), generator=gen)
    mask = torch.arange(10) < torch.randint(1, 11, (16, 1), generator=gen)

    whole, first, second = SpanF1(TAGS), SpanF1(TAGS), SpanF1(TAGS)
    whole.update(preds, target, mask)
    first.update(preds[:8], target[:8], mask[:8])
    second.update(preds[8:], target[8:], mask[8:])

    for name in ("true_positives", "pred_count", "gold_count"):
        assert torch.equal(getattr(first, name) + getattr(second, name), getattr(whole, name))
    first.merge_state(second)
    assert first.per_type() == whole.per_type()
    for key, value in whole.compute().items():
        assert torch.equal(first.compute()[key], value)


@pytest.mark.parametrize(
    ("tags", "expected"),
    [
        (["B-PER", "I-PER", "O", "B-LOC"], 0),
        (["O", "I-PER"], 1),
        (["I-PER", "I-PER"], 1),
        (["B-PER", "I-LOC", "I-LOC", "O", "I-LOC"], 2),
        ([], 0),
    ],
)
def test_count_invalid_bio(tags, expected):
    assert count_invalid_bio(tags) == expected


@pytest.mark.parametrize(
    ("iob1", "iob2"),
    [
        (["I-PER", "I-PER", "O", "I-LOC"], ["B-PER", "I-PER", "O", "B-LOC"]),
        (["I-PER", "B-PER", "I-PER"], ["B-PER", "B-PER", "I-PER"]),  # adjacent spans of one type
        (["B-PER", "I-LOC", "I-LOC"], ["B-PER", "B-LOC", "I-LOC"]),
        (["O", "B-MISC", "I-MISC"], ["O", "B-MISC", "I-MISC"]),  # IOB2 already: unchanged
        ([], []),
    ],
)
def test_to_iob2_keeps_the_spans(iob1, iob2):
    assert to_iob2(iob1) == iob2
    assert bio_spans(iob1) == bio_spans(iob2) and count_invalid_bio(iob2) == 0
