"""`streaming: true` for tagging and sentiment (data_modules/task_streaming.py): the same examples as the
map-style path, dealt to ranks without loss, eval complete on every rank, resumable mid-epoch, one-line errors."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import datasets
import pytest

from data_modules.arrow import MAP_BATCH
from data_modules.sentiment import SentimentData
from data_modules.tagging import TaggingData
from seqlit.errors import SeqlitError

SHARED = Path(__file__).resolve().parents[2].parent / "shared" / "data"
SIZES = {"train": 300, "validation": 70, "test": 40}


def subset(tmp_path: Path, corpus: str) -> Path:
    """The first rows of a shared corpus's splits as parquet files in a temporary folder."""
    if not (SHARED / corpus).is_dir():
        pytest.skip(f"{SHARED / corpus} is not here")
    out = tmp_path / corpus
    out.mkdir()
    for split, n in SIZES.items():
        ds = datasets.load_dataset("parquet", data_files=str(SHARED / corpus / f"{split}.parquet"), split="train")
        ds.select(range(n)).to_parquet(out / f"{split}.parquet")
    return out


def module(kind: str, path: Path, **kw):
    if kind == "tagging":
        return TaggingData(path=str(path), batch_size=16, eval_batch_size=32, seed=3, **kw)
    return SentimentData(path=str(path), batch_size=16, eval_batch_size=32, seed=3, test_split="validation", **kw)


def served(loader) -> Counter:
    """The examples a loader serves, as a multiset of their token tuples."""
    key = "input_ids"
    return Counter(tuple(row[: int(n)].tolist()) for b in loader for row, n in zip(b[key], b["lengths"]))


@pytest.fixture(scope="module", params=["tagging", "sentiment"])
def corpus(request, tmp_path_factory):
    """Written once per corpus: the tests only read it."""
    return request.param, subset(tmp_path_factory.mktemp(request.param), "conll2003" if request.param == "tagging" else "sst2")


def test_streaming_serves_the_map_style_examples(corpus):
    kind, path = corpus
    mapped, streamed = module(kind, path), module(kind, path, streaming=True)
    assert streamed.state_dict() == mapped.state_dict()
    for stage in ("train", "validation"):
        assert served(streamed.loader(stage)) == served(mapped.loader(stage)), stage
    assert sum(served(streamed.loader("train")).values()) == SIZES["train"]


def test_training_batches_are_bucketed_and_reshuffled_each_epoch(corpus):
    kind, path = corpus
    loader = module(kind, path, streaming=True).loader("train")
    first = [b["lengths"].tolist() for b in loader]
    second = [b["lengths"].tolist() for b in loader]
    spread = sum(max(b) - min(b) for b in first) / len(first)
    lengths = [n for b in first for n in b]
    assert spread < (max(lengths) - min(lengths)) / 4  # a length-sorted pool: batches of similar lengths
    assert first != second  # epoch 2 is drawn anew


def test_ranks_deal_training_without_overlap_and_each_scores_the_whole_eval_split(corpus):
    kind, path = corpus
    ranks = []
    for rank in range(2):
        dm = module(kind, path, streaming=True)
        dm.world = lambda rank=rank: (rank, 2)
        ranks.append(dm)
    shares = [served(dm.loader("train")) for dm in ranks]
    everything = served(module(kind, path).loader("train"))
    assert shares[0] + shares[1] == everything and all(shares)
    whole = served(module(kind, path).loader("validation"))
    assert all(served(dm.loader("validation")) == whole for dm in ranks)


def test_a_mid_epoch_state_resumes_at_the_same_batch(corpus):
    kind, path = corpus
    loader = module(kind, path, streaming=True).loader("train")
    batches = iter(loader)
    seen = [next(batches) for _ in range(5)]  # the 5th asked for: 4 handed to training, counted
    state = loader.state_dict()
    assert state["batches"] == 4
    rest = [b["input_ids"].tolist() for b in [seen[4], *batches]]
    resumed = module(kind, path, streaming=True).loader("train")
    resumed.load_state_dict(state)
    assert [b["input_ids"].tolist() for b in resumed] == rest


def test_vocab_max_rows_bounds_the_first_pass(corpus):
    kind, path = corpus
    bounded = module(kind, path, streaming=True, vocab_max_rows=20)
    bounded.ensure_vocab()
    full = module(kind, path, streaming=True)
    full.ensure_vocab()
    assert 2 < len(bounded.vocab) < len(full.vocab)


def test_a_bad_row_in_a_stream_is_one_line_naming_split_and_sentence(tmp_path):
    path = subset(tmp_path, "conll2003")
    ds = datasets.load_dataset("parquet", data_files=str(path / "validation.parquet"), split="train")
    bad = ds.map(lambda row, i: {"ner_tags": row["ner_tags"][:-1] if i == 7 else row["ner_tags"]}, with_indices=True)
    bad.to_parquet(path / "validation.parquet")
    dm = module("tagging", path, streaming=True)
    with pytest.raises(SeqlitError, match=r"split 'validation' sentence 7: \d+ tokens but \d+ ner_tags"):
        list(dm.loader("validation"))


def test_check_reads_the_evaluation_splits_through_and_train_up_to_vocab_max_rows(tmp_path):
    """A bad row past the first `MAP_BATCH` rows (what resolving a stream's columns reads) is still found by
    `check`: in an evaluation split always, in train within the vocabulary's first pass; past it, when reached."""
    path = subset(tmp_path, "conll2003")
    far = MAP_BATCH + 200
    for split in ("validation", "train"):
        ds = datasets.load_dataset("parquet", data_files=str(SHARED / "conll2003" / f"{split}.parquet"), split="train")
        ds.select(range(far + 10)).map(lambda row, i: {"ner_tags": row["ner_tags"][:-1] if i == far else row["ner_tags"]},
                                       with_indices=True).to_parquet(path / f"{split}.parquet")
        dm = module("tagging", path, streaming=True)
        with pytest.raises(SeqlitError, match=rf"split '{split}' sentence {far}: \d+ tokens but \d+ ner_tags"):
            dm.check("fit")
        ds.select(range(far + 10)).to_parquet(path / f"{split}.parquet")  # repaired for the next split's turn
    ds.select(range(far + 10)).map(lambda row, i: {"ner_tags": row["ner_tags"][:-1] if i == far else row["ner_tags"]},
                                   with_indices=True).to_parquet(path / "train.parquet")
    bounded = module("tagging", path, streaming=True, vocab_max_rows=MAP_BATCH)
    bounded.check("fit")  # past the first pass: not read up front
    with pytest.raises(SeqlitError, match=rf"split 'train' sentence {far}"):
        list(bounded.loader("train"))


def test_streaming_refuses_conll_text_and_carving_in_one_line(tmp_path):
    (tmp_path / "train.conll").write_text("EU B-ORG\n\n")
    with pytest.raises(SeqlitError, match="not CoNLL text"):
        TaggingData(path=str(tmp_path), streaming=True).ensure_vocab()
    with pytest.raises(SeqlitError, match="cannot carve data.carve_validation"):
        SentimentData(path=str(tmp_path), streaming=True, carve_validation=10, val_split="carved")


def test_a_stream_needs_the_sources_own_splits(tmp_path):
    path = subset(tmp_path, "sst2")
    (path / "test.parquet").unlink()
    (path / "validation.parquet").unlink()
    with pytest.raises(SeqlitError, match="needs .* to ship its own validation split"):
        module("sentiment", path, streaming=True).ensure_vocab()
