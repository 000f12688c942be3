"""TaggingData keeps its splits in Arrow: encoded once by `Dataset.map`, cached by fingerprint, the
vocabulary counted over batches as the list version counted it, bad rows refused before any cache is written."""

from __future__ import annotations

import random
import re
from collections import Counter
from pathlib import Path

import datasets
import numpy as np
import pytest

from data_modules.tagging import TaggingData
from seqlit.errors import SeqlitError
from seqlit.vocab import PAD, UNK, Vocab

from tagging_corpus import sentence

TAGS = ["O", "B-PER", "I-PER", "B-ORG", "I-ORG", "B-LOC", "I-LOC"]


def parquet_corpus(folder: Path, rows: int = 300) -> Path:
    """Train/validation/test parquet files with ClassLabel tags, as ../shared/data/conll2003 ships them."""
    rng = random.Random(5)
    features = datasets.Features({"tokens": datasets.Sequence(datasets.Value("string")),
                                  "ner_tags": datasets.Sequence(datasets.ClassLabel(names=TAGS))})
    folder.mkdir(parents=True, exist_ok=True)
    for split, n in (("train", rows), ("validation", rows // 5), ("test", rows // 5)):
        sents = [sentence(rng) for _ in range(n)]
        data = {"tokens": [[w for w, _ in s] for s in sents], "ner_tags": [[TAGS.index(t) for _, t in s] for s in sents]}
        datasets.Dataset.from_dict(data, features=features).to_parquet(str(folder / f"{split}.parquet"))
    return folder


def cache_file(examples: datasets.Dataset) -> Path:
    files = examples.cache_files
    assert files, "the encoded split is not backed by a cache file"
    return Path(files[0]["filename"])


def test_encoded_split_is_arrow_and_cached_by_fingerprint(tmp_path):
    path = str(parquet_corpus(tmp_path / "ner"))
    first = TaggingData(path=path).encoded("train")
    assert isinstance(first, datasets.Dataset) and "length" in first.column_names
    encoded, stamp = cache_file(first), cache_file(first).stat().st_mtime_ns
    again = TaggingData(path=path).encoded("train")
    assert cache_file(again) == encoded and encoded.stat().st_mtime_ns == stamp, "the second run encoded again"
    assert again[:] == first[:]
    other = TaggingData(path=path, max_word_length=3).encoded("train")
    assert cache_file(other) != encoded, "a changed option reused the old encoding"
    assert max(len(c) for row in other["chars"][:50] for c in row) == 3


def test_lengths_come_from_the_arrow_column(tmp_path):
    dm = TaggingData(path=str(parquet_corpus(tmp_path / "ner")))
    examples = dm.encoded("validation")
    lengths = dm.lengths(examples)
    assert isinstance(lengths, np.ndarray) and lengths.tolist() == [len(t) for t in examples["tokens"][:]]


def test_vocabulary_equals_the_list_version(tmp_path):
    """Same ids in the same order as counting a list of every training token, words and characters."""
    path = str(parquet_corpus(tmp_path / "ner"))
    dm = TaggingData(path=path, min_freq=2)
    dm.data_spec
    tokens = datasets.load_dataset("parquet", data_files=str(Path(path) / "train.parquet"))["train"]["tokens"][:]
    keys = [re.sub(r"\d", "0", t.lower()) for s in tokens for t in s]
    counts = Counter(keys)
    words = Vocab.build([keys], specials=(PAD, UNK), min_freq=2)
    assert dm.vocab.tokens == words.tokens
    assert dm.rare_start == next((i for i, w in enumerate(words.tokens) if counts.get(w) == 1), len(words))
    assert dm.chars.tokens == Vocab.build((t for s in tokens for t in s), specials=(PAD, UNK)).tokens


def test_bad_row_raises_before_any_cache_is_written(tmp_path):
    folder = parquet_corpus(tmp_path / "ner", rows=50)
    bad = {"tokens": [["Paris", "is"], ["Oslo"]], "ner_tags": [["B-LOC", "O"], ["B-LOC", "O"]]}
    datasets.Dataset.from_dict(bad).to_parquet(str(folder / "train.parquet"))
    dm = TaggingData(path=str(folder))
    source = Path(dm.splits()["train"].cache_files[0]["filename"]).parent
    before = set(source.iterdir())
    with pytest.raises(SeqlitError, match=r"split 'train' sentence 1: 1 tokens but 2 ner_tags: give one tag per token"):
        dm.check("fit")
    assert set(source.iterdir()) == before, "a failed encoding left a file in the cache"
