"""Seq2Seq and attention on random small models: decoding agrees with itself, padding changes nothing."""

from __future__ import annotations

import pytest
import torch

from seqlit.errors import SeqlitError
from seqlit.nn.attention import AdditiveAttention, MultiplicativeAttention
from seqlit.tasks.seq2seq import Seq2Seq
from tests.conftest import with_backbone

SPEC = {"source_vocab_size": 30, "target_vocab_size": 12, "source_pad_id": 0, "target_pad_id": 0, "bos_id": 2, "eos_id": 3}
VARIANTS = [
    dict(kind="gru", bidirectional=True, decoder_kind="gru", attention="additive"),
    dict(kind="lstm", bidirectional=True, num_layers=2, decoder_kind="lstm", attention="multiplicative"),
    dict(kind="rnn", bidirectional=False, decoder_kind="gru", attention="none"),
    dict(kind="gru", backend="scratch", decoder_kind="lstm", attention="additive"),
]


def seq2seq_args(decoder_kind: str = "gru", **kwargs) -> dict:
    """Keyword arguments in the task's shape; the decoder is as wide as the encoder's output."""
    args = with_backbone(Seq2Seq, **kwargs)
    encoder = args["backbone"]["init_args"]
    width = encoder["hidden_size"] * (2 if encoder.get("bidirectional") else 1)
    return args | {"decoder": {"kind": decoder_kind, "hidden_size": width, "backend": encoder.get("backend", "fused")}}


def model(seed: int = 0, **kwargs) -> Seq2Seq:
    """A random model with weights large enough that its outputs depend on the source and <eos> comes
    at varied steps (with torch's small initial weights every output would look alike)."""
    torch.manual_seed(seed)
    m = Seq2Seq(SPEC, **seq2seq_args(**(dict(embedding_dim=8, hidden_size=8, dropout=0.0, max_output_length=15) | kwargs))).eval()
    with torch.no_grad():
        for p in m.parameters():
            p.normal_(0, 1.0)
        m.out.bias[SPEC["eos_id"]] += 1.0
    return m


def batch(seed: int = 1, size: int = 6, longest: int = 9) -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    lengths = torch.randint(1, longest + 1, (size,), generator=g)
    lengths[0] = longest
    ids = torch.randint(4, SPEC["source_vocab_size"], (size, longest), generator=g)
    ids[torch.arange(longest)[None, :] >= lengths[:, None]] = 0
    return ids, lengths


@pytest.mark.parametrize("variant", VARIANTS)
def test_beam_size_one_is_greedy(variant):
    lengths = []
    for seed in range(3):
        m, (ids, source_lengths) = model(seed, **variant), batch(seed + 10)
        greedy = m.greedy(ids, source_lengths)
        assert m.beam_search(ids, source_lengths, beam_size=1) == greedy
        lengths += [len(g) for g in greedy]
    assert any(0 < n < 15 for n in lengths)  # outputs that end with <eos> after a few tokens are among them


def test_an_exhaustive_beam_finds_the_most_probable_output():
    """With alpha = 0 and beam_size = V^(L-1), beam search keeps every prefix: its output must be the
    most probable of all outputs of at most L = 3 tokens, found here by scoring every one of them."""
    m, (ids, lengths) = model(3, max_output_length=3), batch(5, size=1)  # a seed where greedy falls short
    vocab, eos = SPEC["target_vocab_size"], SPEC["eos_id"]
    triples = torch.cartesian_prod(*[torch.arange(vocab)] * 3)  # (V^3, 3): every y1 y2 y3
    target_in = torch.cat([torch.full((len(triples), 1), m.bos_id), triples[:, :2]], dim=1)
    with torch.no_grad():
        logp = m(ids.expand(len(triples), -1), lengths.expand(len(triples)), target_in).log_softmax(-1)
    step = logp.gather(-1, triples[..., None]).squeeze(-1).cumsum(-1)  # log P(y1..yt) for t = 1, 2, 3
    best, best_score = None, float("-inf")
    for row, (y, score) in enumerate(zip(triples.tolist(), step.tolist())):
        end = y.index(eos) if eos in y else 2  # the output stops at its first <eos> (or is cut at 3 tokens)
        if score[end] > best_score:
            best, best_score = y[:end] if eos in y else y, score[end]
    assert m.beam_search(ids, lengths, beam_size=vocab**2, alpha=0.0) == [best]
    greedy = m.greedy(ids, lengths)[0]
    assert greedy != best and log_prob(m, ids, lengths, greedy) < best_score  # a case where greedy falls short


def log_prob(m: Seq2Seq, ids, lengths, output: list[int]) -> float:
    """log P(output <eos> | source), or of the output alone when it was cut at max_output_length."""
    full = output + [m.eos_id] if len(output) < m.max_output_length else output
    target_in = torch.tensor([[m.bos_id, *full[:-1]]])
    with torch.no_grad():
        logp = m(ids, lengths, target_in).log_softmax(-1)[0]
    return float(logp[torch.arange(len(full)), torch.tensor(full)].sum())


@pytest.mark.parametrize("attention", [AdditiveAttention(5, 6, 7), MultiplicativeAttention(5, 6)])
def test_attention_gives_padding_no_weight(attention):
    torch.manual_seed(0)
    memory, query = torch.randn(3, 7, 6), torch.randn(3, 5)
    mask = torch.arange(7)[None, :] < torch.tensor([7, 4, 1])[:, None]
    context, weights = attention(query, memory, mask)
    assert torch.equal(weights[~mask], torch.zeros(int((~mask).sum())))
    assert torch.allclose(weights.sum(-1), torch.ones(3))
    garbage = memory.masked_fill(~mask[..., None], 1e3)
    assert torch.allclose(attention(query, garbage, mask)[0], context, atol=1e-6)
    assert torch.allclose(context[2], memory[2, 0], atol=1e-6)  # one real position: its vector exactly


@pytest.mark.parametrize("variant", VARIANTS[:2])
def test_a_sentence_decodes_the_same_alone_or_padded_in_a_batch(variant):
    m, (ids, lengths) = model(5, **variant), batch(6)
    beam, greedy = m.beam_search(ids, lengths, beam_size=3), m.greedy(ids, lengths)
    for i in range(ids.size(0)):
        alone = ids[i : i + 1, : lengths[i]]
        assert m.beam_search(alone, lengths[i : i + 1], beam_size=3) == [beam[i]]
        assert m.greedy(alone, lengths[i : i + 1]) == [greedy[i]]


def test_teacher_forced_loss_ignores_target_padding():
    m, (ids, lengths) = model(7), batch(8, size=2)
    target_in = torch.tensor([[2, 5, 6, 7], [2, 8, 0, 0]])
    target_out = torch.tensor([[5, 6, 7, 3], [8, 3, 0, 0]])
    loss = m.loss({"source_ids": ids, "source_lengths": lengths, "target_in": target_in, "target_out": target_out})
    short = m.loss({"source_ids": ids[1:], "source_lengths": lengths[1:], "target_in": target_in[1:, :2],
                    "target_out": target_out[1:, :2]})
    long = m.loss({"source_ids": ids[:1], "source_lengths": lengths[:1], "target_in": target_in[:1], "target_out": target_out[:1]})
    assert torch.allclose(loss, (4 * long + 2 * short) / 6, atol=1e-6)  # a mean over the 6 real tokens


def test_missing_spec_and_bad_settings_are_one_line_errors():
    with pytest.raises(SeqlitError, match="data_spec lacks"):
        Seq2Seq({"vocab_size": 5, "pad_id": 0})
    with pytest.raises(SeqlitError, match="beam_size"):
        Seq2Seq(SPEC, beam_size=0)
    assert Seq2Seq(SPEC, monitor="val/loss").monitor_mode == "min"
    assert Seq2Seq(SPEC, monitor="val/exact_match").monitor == "val/exact_match"
