"""AdaptiveInput: each token is looked up in its own cluster's table and lifted to the common width,
gradients reach only the rows that were used, and bad cutoffs are refused."""

import pytest
import torch

from seqlit.nn.adaptive_input import AdaptiveInput


def test_each_token_is_its_clusters_row_lifted_to_dim():
    torch.manual_seed(0)
    emb = AdaptiveInput(vocab_size=50, dim=16, cutoffs=[10, 30])
    assert [t.weight.shape for t in emb.tables] == [(10, 16), (20, 4), (20, 1)]
    ids = torch.tensor([[0, 9, 10, 29], [30, 49, 3, 12]])
    out = emb(ids)
    assert out.shape == (2, 4, 16)
    for token, vector in zip(ids.reshape(-1).tolist(), out.reshape(-1, 16)):
        cluster = sum(token >= c for c in (10, 30))
        lo = (0, 10, 30)[cluster]
        expected = emb.projections[cluster](emb.tables[cluster].weight[token - lo])
        # float32 tolerance: a batched and a one-row matmul round differently on some CPUs (1.7e-7 on a Xeon)
        torch.testing.assert_close(vector, expected)


def test_gradient_reaches_only_used_rows_and_every_cluster_used():
    emb = AdaptiveInput(vocab_size=50, dim=16, cutoffs=[10, 30])
    emb(torch.tensor([[1, 12, 40]])).sum().backward()
    for table, used in zip(emb.tables, (1, 2, 10)):
        touched = table.weight.grad.abs().sum(1).nonzero().squeeze(1).tolist()
        assert touched == [used]


def test_output_dtype_does_not_depend_on_the_clusters_used_under_autocast():
    emb = AdaptiveInput(vocab_size=50, dim=16, cutoffs=[10, 30])
    with torch.autocast("cpu", dtype=torch.bfloat16):
        rare_only, mixed = emb(torch.tensor([[40, 41]])), emb(torch.tensor([[1, 41]]))
    assert rare_only.dtype == mixed.dtype == torch.float32


def test_lifted_vectors_have_the_heads_scale():
    torch.manual_seed(0)
    emb = AdaptiveInput(vocab_size=30000, dim=256, cutoffs=[1000, 5000])
    head = emb(torch.arange(0, 1000)).std().item()
    rare = emb(torch.arange(5000, 30000)).std().item()
    assert 0.8 < rare / head < 1.25


@pytest.mark.parametrize("cutoffs", [[30, 10], [10, 10], [0, 10], [10, 50]])
def test_bad_cutoffs_are_refused(cutoffs):
    with pytest.raises(ValueError, match="cutoffs"):
        AdaptiveInput(vocab_size=50, dim=16, cutoffs=cutoffs)


def test_too_narrow_a_last_cluster_is_refused():
    with pytest.raises(ValueError, match="no width"):
        AdaptiveInput(vocab_size=50, dim=8, cutoffs=[10, 30])
