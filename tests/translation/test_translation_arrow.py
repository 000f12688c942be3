"""TranslationData and DatesData keep their pairs in Arrow: encoded once by `Dataset.map`, cached by fingerprint
(the generated dates too), lengths read from an Arrow column, and the batches of the list version they replaced."""

from __future__ import annotations

import json
from pathlib import Path

import datasets
import numpy as np
import pytest

from data_modules.bucketing import BucketBatchSampler
from data_modules.parallel_encode import tokenize
from data_modules.translation import SPECIALS, TranslationData
from data_modules.dates import DatesData
from seqlit.errors import SeqlitError
from seqlit.vocab import BOS, EOS, Vocab
from tests.translation.corpus import SIZES, pairs, write_corpus


def cache_file(examples: datasets.Dataset) -> Path:
    files = examples.cache_files
    assert files, "the encoded split is not backed by a cache file"
    return Path(files[0]["filename"])


def test_encoded_split_is_arrow_and_cached_by_fingerprint(tmp_path):
    path = str(write_corpus(tmp_path / "c"))
    first = TranslationData(path=path, min_freq=1).encoded("train")
    assert isinstance(first, datasets.Dataset) and {"source_ids", "target_ids", "length"} <= set(first.column_names)
    encoded, stamp = cache_file(first), cache_file(first).stat().st_mtime_ns
    again = TranslationData(path=path, min_freq=1).encoded("train")
    assert cache_file(again) == encoded and encoded.stat().st_mtime_ns == stamp, "the second run encoded again"
    assert again[:] == first[:]
    other = TranslationData(path=path, min_freq=1, max_length=6).encoded("train")
    assert cache_file(other) != encoded and len(other) < len(first), "a changed option reused the old encoding"


def test_generated_dates_are_cached_and_reused(tmp_path):
    first = DatesData(train_size=300, seed=2).encoded("train")
    encoded = cache_file(first)
    again = DatesData(train_size=300, seed=2).encoded("train")
    assert cache_file(again) == encoded and again[:] == first[:]
    assert cache_file(DatesData(train_size=300, seed=3).encoded("train")) != encoded


def list_version(sources, targets, train_sources, train_targets, min_freq, max_length):
    """What TranslationData computed before Arrow: vocabularies from token lists, ids as lists, long pairs cut."""
    src_vocab, tgt_vocab = (Vocab.build([tokenize(t, "word", True) for t in side], specials=SPECIALS, min_freq=min_freq)
                            for side in (train_sources, train_targets))
    src = [src_vocab.encode(tokenize(s, "word", True)) for s in sources]
    tgt = [tgt_vocab.encode(tokenize(t, "word", True)) for t in targets]
    keep = [i for i in range(len(src)) if max_length is None or max(len(src[i]), len(tgt[i])) <= max_length]
    return src_vocab, tgt_vocab, [src[i] for i in keep], [tgt[i] for i in keep], keep


@pytest.mark.parametrize("fmt", ["parquet", "wmt", "text"])
def test_batches_equal_the_list_version(tmp_path, fmt):
    dm = TranslationData(path=str(write_corpus(tmp_path / fmt, fmt)), min_freq=2, max_length=6, batch_size=8, seed=5)
    train = pairs(*SIZES["train"])
    src_vocab, tgt_vocab, src, tgt, index = list_version(*train, *train, min_freq=2, max_length=6)
    dm.ensure_vocab()
    assert dm.source_vocab.tokens == src_vocab.tokens and dm.target_vocab.tokens == tgt_vocab.tokens
    lengths = dm.lengths(dm.encoded("train"))
    assert isinstance(lengths, np.ndarray) and lengths.tolist() == [len(s) for s in src]
    sampler = BucketBatchSampler([len(s) for s in src], 8, shuffle=True, seed=5, pool_batches=dm.bucket_pool,
                                 noise=dm.bucket_noise)
    bos, eos = tgt_vocab[BOS], tgt_vocab[EOS]
    for rows, batch in zip(sampler, dm.train_dataloader()):
        assert batch["index"].tolist() == [index[i] for i in rows]
        assert [ids[:n] for ids, n in zip(batch["source_ids"].tolist(), batch["source_lengths"].tolist())] == [src[i] for i in rows]
        assert [[t for t in ids if t] for ids in batch["target_in"].tolist()] == [[bos, *tgt[i]] for i in rows]
        assert [[t for t in ids if t] for ids in batch["target_out"].tolist()] == [[*tgt[i], eos] for i in rows]


def test_bad_rows_raise_before_any_cache_is_written(tmp_path):
    folder = write_corpus(tmp_path / "wmt", "wmt")
    (folder / "train.jsonl").write_text("".join(json.dumps({"translation": t}) + "\n" for t in ("ein Hund", "a dog")),
                                        encoding="utf-8")
    dm = TranslationData(path=str(folder), min_freq=1)
    try:
        splits = dm.splits()
    except SeqlitError as err:  # older datasets (2.21) refuse the differing column type as they load, one line
        assert "Couldn't cast" in str(err) and "\n" not in str(err)
        return
    source = Path(splits["train"].cache_files[0]["filename"]).parent
    before = set(source.iterdir())
    with pytest.raises(SeqlitError, match=r"'translation' rows hold str, not 'de' and 'en': set data.init_args.source_key"):
        dm.check("fit")
    assert set(source.iterdir()) == before, "a failed encoding left a file in the cache"
