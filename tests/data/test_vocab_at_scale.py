"""`Vocab` counted batch by batch (data_modules/token_stream.py) is today's vocabulary exactly, on every shipped corpus.

The reference is the rule the language model used before counting went by batches, copied here: every
line's tokens in one `Counter`, then `Vocab.build`'s ranking. Same tokens, same ids, same order, and the
ids the Arrow path encodes equal `Vocab.encode` of those tokens line by line.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from data_modules import LanguageModelingData
from seqlit.vocab import EOS, PAD, UNK

SHARED = Path("/work/shared/data") if Path("/work/shared/data").is_dir() else Path(__file__).resolve().parents[3] / "shared" / "data"
CORPORA = [
    pytest.param(str(SHARED / "wikitext-2"), "word", id="wikitext-2-word"),
    pytest.param(str(SHARED / "tiny_shakespeare" / "input.txt"), "char", id="tiny-shakespeare-char"),
    pytest.param("embedded:pydoc_topics", "word", id="embedded-word"),
    pytest.param("embedded:pydoc_topics", "char", id="embedded-char"),
]


def reference_tokens(dm: LanguageModelingData, split: str) -> list[list[str]]:
    """Today's rule: each line (trailing newline removed) tokenized on its own."""
    lines = [t.rstrip("\n") if t else "" for t in dm.split(split)[dm.text_column][:]]
    return [line.split() + [EOS] if dm.level == "word" else list(line) + ["\n"] for line in lines]


def reference_vocab(sequences, specials, max_size=None, min_freq=1) -> list[str]:
    counts = Counter(t for seq in sequences for t in seq)
    for s in specials:
        counts.pop(s, None)
    ranked = sorted((t for t, c in counts.items() if c >= min_freq), key=lambda t: (-counts[t], t))
    if max_size is not None:
        ranked = ranked[: max_size - len(specials)]
    return list(specials) + ranked


@pytest.mark.parametrize("path, level", CORPORA)
def test_batched_counts_give_todays_vocabulary_and_ids(path, level):
    if not path.startswith("embedded:") and not Path(path).exists():
        pytest.skip(f"shared corpus {path} not found")
    dm = LanguageModelingData(path=path, level=level)
    dm.ensure_vocab()
    specials = (PAD, UNK, EOS) if level == "word" else (PAD, UNK)
    train = reference_tokens(dm, "train")
    assert dm.vocab.tokens == reference_vocab(train, specials)
    capped = LanguageModelingData(path=path, level=level, max_vocab=50, min_freq=3)
    capped.ensure_vocab()
    assert capped.vocab.tokens == reference_vocab(train, specials, max_size=50, min_freq=3)
    expected = [i for tokens in reference_tokens(dm, "validation") for i in dm.vocab.encode(tokens)]
    assert dm.encoded("validation").tolist() == expected
