"""SentimentData keeps its splits in Arrow: encoded once by `Dataset.map`, cached by fingerprint, the word
vocabulary counted over batches as the list version counted it, a bad row refused before any cache is written."""

from __future__ import annotations

from pathlib import Path

import datasets
import numpy as np
import pytest

from data_modules.sentiment import SentimentData, tokenize
from seqlit.errors import SeqlitError
from seqlit.vocab import PAD, UNK, Vocab

from .corpus import make_sst_dir, sentences, write_split


def cache_file(examples: datasets.Dataset) -> Path:
    assert examples.cache_files, "the encoded split is not backed by a cache file"
    return Path(examples.cache_files[0]["filename"])


def test_encoded_split_is_arrow_and_cached_by_fingerprint(tmp_path):
    path = str(make_sst_dir(tmp_path / "sst"))
    first = SentimentData(path=path).encoded("train")
    encoded, stamp = cache_file(first), cache_file(first).stat().st_mtime_ns
    again = SentimentData(path=path).encoded("train")
    assert cache_file(again) == encoded and encoded.stat().st_mtime_ns == stamp, "the second run encoded again"
    assert again[:] == first[:]
    other = SentimentData(path=path, max_length=4).encoded("train")
    assert cache_file(other) != encoded, "a changed option reused the old encoding"
    assert max(len(ids) for ids in other["ids"][:]) == 4


def test_lengths_come_from_the_arrow_column(tmp_path):
    dm = SentimentData(path=str(make_sst_dir(tmp_path / "sst")))
    examples = dm.encoded("validation")
    lengths = dm.lengths(examples)
    assert isinstance(lengths, np.ndarray) and lengths.tolist() == [len(ids) for ids in examples["ids"][:]]


def test_vocabulary_equals_the_list_version(tmp_path):
    path = make_sst_dir(tmp_path / "sst")
    dm = SentimentData(path=str(path), min_freq=2, max_length=5)
    dm.data_spec
    texts = datasets.load_dataset("parquet", data_files=str(path / "train.parquet"))["train"]["sentence"][:]
    expected = Vocab.build([tokenize(t)[:5] for t in texts], specials=(PAD, UNK), min_freq=2)
    assert dm.vocab.tokens == expected.tokens


def test_bad_row_raises_before_any_cache_is_written(tmp_path):
    folder = make_sst_dir(tmp_path / "sst")
    texts, labels = sentences(6)
    texts[4] = "   "
    write_split(folder / "validation.parquet", texts, labels)
    dm = SentimentData(path=str(folder))
    dm.data_spec
    source = Path(dm.splits()["validation"].cache_files[0]["filename"]).parent
    before = set(source.iterdir())
    with pytest.raises(SeqlitError, match=r"validation: text 4 \(counting from 0\) has no words"):
        dm.encoded("validation")
    assert set(source.iterdir()) == before, "a failed encoding left a file in the cache"
