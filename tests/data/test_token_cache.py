"""The language model's Arrow path: encoded once into the `datasets` cache, reused by a second setup, memory-mapped.

A second data module with the same source, vocabulary and level maps the very files the first wrote (nothing
is encoded again); another vocabulary or level encodes anew; the backward direction reads the same file
reversed, without a copy; a truncated token file is rebuilt, not used; a bad split fails before any file is written.
"""

from __future__ import annotations

import datasets
import numpy as np
import pytest

from data_modules import LanguageModelingData
from data_modules.streams import batchify, rank_rows
from seqlit.errors import SeqlitError


@pytest.fixture
def cache(tmp_path, monkeypatch):
    folder = tmp_path / "hf-cache"
    monkeypatch.setattr(datasets.config, "HF_DATASETS_CACHE", folder)
    return folder


@pytest.fixture
def corpus(tmp_path):
    folder = tmp_path / "corpus"
    folder.mkdir()
    for split, n in (("train", 300), ("valid", 40), ("test", 40)):
        (folder / f"{split}.txt").write_text("".join(f"the cat {i % 7} sat on mat {i % 11}\n" for i in range(n)), encoding="utf-8")
    return folder


def token_files(cache) -> dict:
    return {p: p.stat().st_mtime_ns for p in cache.rglob("*") if p.suffix in (".arrow", ".npy", ".json") and p.name.startswith(("cache-", "seqlit-"))}


def encoded(corpus, stage="train", **kwargs) -> np.ndarray:
    dm = LanguageModelingData(path=str(corpus), batch_size=2, eval_batch_size=2, bptt=4, **kwargs)
    return dm.encoded(stage)


def test_a_second_setup_maps_the_same_files(cache, corpus):
    first = encoded(corpus)
    files = token_files(cache)
    assert isinstance(first, np.memmap) and str(cache) in str(first.filename)
    second = encoded(corpus)
    assert token_files(cache) == files, "a second setup with the same inputs wrote or rewrote cache files"
    assert second.filename == first.filename and np.array_equal(first, second)
    assert any(p.name.startswith("seqlit-counts-") for p in files), "the training counts are not kept"


def test_kept_counts_give_the_vocabulary_counted_afresh(cache, corpus):
    counted = LanguageModelingData(path=str(corpus), max_vocab=12)
    counted.ensure_vocab()
    kept = LanguageModelingData(path=str(corpus), max_vocab=12)
    kept.ensure_vocab()
    assert kept.vocab.tokens == counted.vocab.tokens and len(kept.vocab) == 12


def test_another_vocabulary_or_level_encodes_anew(cache, corpus):
    base = encoded(corpus)
    for kwargs in ({"max_vocab": 8}, {"level": "char"}):
        other = encoded(corpus, **kwargs)
        assert other.filename != base.filename, kwargs
    assert not np.array_equal(encoded(corpus, max_vocab=8)[: base.size], base)


def test_backward_reads_the_forward_file_reversed_without_a_copy(cache, corpus):
    forward = encoded(corpus)
    backward = encoded(corpus, direction="backward")
    assert backward.filename == forward.filename and np.array_equal(backward, forward[::-1])
    assert not backward.flags.owndata and backward.strides[0] < 0  # a reversed view of the mapped file
    streams = rank_rows(batchify(backward, 3), 1, 2)  # row 1 of 3 for rank 1 of 2: still a view
    assert np.shares_memory(streams, backward)
    width = backward.size // 3
    assert np.array_equal(streams[0], backward[width : 2 * width])


def test_a_truncated_token_file_is_rebuilt(cache, corpus):
    good = np.array(encoded(corpus))
    for npy in (p for p in token_files(cache) if p.suffix == ".npy"):
        npy.write_bytes(npy.read_bytes()[:200])
    assert np.array_equal(encoded(corpus), good)


def test_an_empty_split_fails_before_anything_is_encoded(cache, corpus):
    (corpus / "valid.txt").write_text("\n\n", encoding="utf-8")
    dm = LanguageModelingData(path=str(corpus), batch_size=2, eval_batch_size=2)
    dm.ensure_vocab()
    before = token_files(cache)
    with pytest.raises(SeqlitError, match="the validation split is empty: give it some text"):
        dm.encoded("validation")
    assert token_files(cache) == before
