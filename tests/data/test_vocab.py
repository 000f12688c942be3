"""Vocabulary invariants: specials first, frequency order, caps, <unk>, exact round-trips."""

from hypothesis import given
from hypothesis import strategies as st

from seqlit.vocab import EOS, PAD, UNK, Vocab

words = st.lists(st.lists(st.sampled_from(list("abcdefgh")) | st.text(min_size=1, max_size=4), max_size=8), max_size=30)


@given(words, st.integers(min_value=4, max_value=20), st.integers(min_value=1, max_value=3))
def test_build_encode_decode(sequences, max_size, min_freq):
    vocab = Vocab.build(sequences, specials=(PAD, UNK, EOS), max_size=max_size, min_freq=min_freq)
    assert vocab.tokens[:3] == [PAD, UNK, EOS] and vocab.pad_id == 0
    assert len(vocab) <= max_size
    for seq in sequences:
        decoded = vocab.decode(vocab.encode(seq))
        assert decoded == [t if t in vocab else UNK for t in seq]
    assert Vocab.from_state(vocab.to_state()).tokens == vocab.tokens


def test_frequency_order_and_min_freq():
    vocab = Vocab.build([["b", "a", "a", "c", "c", "c", "d"]], min_freq=2)
    assert vocab.tokens == [PAD, UNK, "c", "a"]
    assert vocab.encode(["d", "c"]) == [1, 2]


def test_state_is_plain_data():
    state = Vocab.build([["x"]]).to_state()
    assert state == {"tokens": [PAD, UNK, "x"], "unk": UNK}
