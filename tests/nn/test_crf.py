"""The CRF's forward algorithm and Viterbi must agree with enumerating every path."""

import itertools

import pytest
import torch

from seqlit.metrics import count_invalid_bio
from seqlit.nn.crf import CRF

TAGS = ["O", "B-PER", "I-PER", "B-LOC", "I-LOC"]
LENGTHS = [4, 1, 3, 2, 4]


def make_crf(num_tags: int, tag_names: list[str] | None = None, seed: int = 0) -> CRF:
    """A float64 CRF with scores large enough that paths differ clearly."""
    torch.manual_seed(seed)
    crf = CRF(num_tags, tag_names).double()
    with torch.no_grad():
        for p in crf.parameters():
            p.normal_()
    return crf


def batch(num_tags: int, seed: int = 1) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Emissions, gold tags (-100 at padding, which the CRF must ignore) and a prefix mask."""
    gen = torch.Generator().manual_seed(seed)
    length = max(LENGTHS)
    emissions = torch.randn(len(LENGTHS), length, num_tags, generator=gen, dtype=torch.float64)
    mask = torch.arange(length) < torch.tensor(LENGTHS).unsqueeze(1)
    tags = torch.randint(num_tags, (len(LENGTHS), length), generator=gen).masked_fill(~mask, -100)
    return emissions, tags, mask


def path_score(crf: CRF, emissions: torch.Tensor, path: tuple[int, ...]) -> torch.Tensor:
    """Score of one path from the raw (unconstrained) parameters."""
    score = crf.start_transitions[path[0]] + crf.end_transitions[path[-1]]
    score = score + sum(emissions[t, tag] for t, tag in enumerate(path))
    return score + sum(crf.transitions[a, b] for a, b in zip(path, path[1:]))


def all_paths(num_tags: int, length: int, tag_names: list[str] | None) -> list[tuple[int, ...]]:
    """Every tag path, or only the BIO-valid ones when tag names are given."""
    paths = itertools.product(range(num_tags), repeat=length)
    if tag_names is None:
        return list(paths)
    return [p for p in paths if count_invalid_bio([tag_names[i] for i in p]) == 0]


@pytest.mark.parametrize("tag_names", [None, TAGS], ids=["free", "bio"])
def test_nll_equals_brute_force(tag_names):
    num_tags = len(TAGS)
    crf = make_crf(num_tags, tag_names)
    emissions, tags, mask = batch(num_tags)
    if tag_names is not None:  # gold paths must be valid to have a finite likelihood
        tags = torch.tensor([0, 1, 2, 2]).expand_as(tags).masked_fill(~mask, -100)
    nll = crf(emissions, tags, mask)

    assert nll.shape == (len(LENGTHS),)
    for b, length in enumerate(LENGTHS):
        scores = torch.stack([path_score(crf, emissions[b], p) for p in all_paths(num_tags, length, tag_names)])
        gold = path_score(crf, emissions[b], tuple(tags[b, :length].tolist()))
        assert nll[b].item() == pytest.approx((scores.logsumexp(0) - gold).item(), rel=1e-10)


@pytest.mark.parametrize("tag_names", [None, TAGS], ids=["free", "bio"])
def test_viterbi_equals_brute_force_argmax(tag_names):
    num_tags = len(TAGS)
    crf = make_crf(num_tags, tag_names)
    emissions, _, mask = batch(num_tags)
    decoded = crf.decode(emissions, mask)

    assert decoded.dtype == torch.long
    for b, length in enumerate(LENGTHS):
        best = max(all_paths(num_tags, length, tag_names), key=lambda p: path_score(crf, emissions[b], p).item())
        assert tuple(decoded[b, :length].tolist()) == best
        assert decoded[b, length:].eq(0).all()


def test_constrained_decode_is_valid_bio():
    crf = make_crf(len(TAGS), TAGS)
    gen = torch.Generator().manual_seed(2)
    emissions = torch.randn(64, 20, len(TAGS), generator=gen, dtype=torch.float64)
    emissions[..., [2, 4]] += 3.0  # emissions that favour I- tags everywhere
    mask = torch.arange(20) < torch.randint(1, 21, (64, 1), generator=gen)
    decoded = crf.decode(emissions, mask)
    for row, keep in zip(decoded.tolist(), mask.tolist()):
        assert count_invalid_bio([TAGS[i] for i, k in zip(row, keep) if k]) == 0


def test_unconstrained_decode_can_be_invalid():
    """Control for the test above: without constraints, emissions can force O -> I-PER."""
    crf = make_crf(len(TAGS))
    emissions = torch.zeros(1, 2, len(TAGS), dtype=torch.float64)
    emissions[0, 0, 0] = emissions[0, 1, 2] = 100.0  # O then I-PER
    assert crf.decode(emissions, torch.ones(1, 2, dtype=torch.bool)).tolist() == [[0, 2]]


def test_gradient_flows_to_parameters_and_emissions():
    crf = CRF(len(TAGS), TAGS)
    emissions, tags, mask = batch(len(TAGS))
    emissions = emissions.float().requires_grad_()
    tags = torch.tensor([0, 3, 4, 0]).expand_as(tags).masked_fill(~mask, -100)
    crf(emissions, tags, mask).mean().backward()

    for grad in (emissions.grad, crf.transitions.grad, crf.start_transitions.grad, crf.end_transitions.grad):
        assert grad is not None and torch.isfinite(grad).all() and grad.abs().sum() > 0
    assert emissions.grad[~mask].eq(0).all()  # padding contributes nothing


def test_constraints_are_buffers_not_parameters():
    crf = CRF(len(TAGS), TAGS)
    assert {name for name, _ in crf.named_parameters()} == {"transitions", "start_transitions", "end_transitions"}
    assert crf.transition_penalty[TAGS.index("O"), TAGS.index("I-PER")] < -1e3
    assert crf.transition_penalty[TAGS.index("B-LOC"), TAGS.index("I-PER")] < -1e3
    assert crf.transition_penalty[TAGS.index("I-PER"), TAGS.index("I-PER")] == 0
    assert crf.start_penalty[TAGS.index("I-LOC")] < -1e3
    assert "transition_penalty" not in crf.state_dict()


def test_bad_tag_names_are_rejected():
    with pytest.raises(ValueError):
        CRF(3, ["O", "B-PER"])
    with pytest.raises(ValueError):
        CRF(3, ["O", "S-PER", "E-PER"])
    CRF(3, ["O", "S-PER", "E-PER"], constrain_bio=False)
