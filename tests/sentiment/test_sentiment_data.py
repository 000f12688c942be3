"""SentimentData: loading, labels, unlabelled rows, truncation, raw-text input and the errors users meet."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest

from data_modules.sentiment import SentimentData, tokenize
from seqlit.errors import SeqlitError
from tests.sentiment.corpus import LABELS, make_sst_dir, sentences, write_split

SHARED_SST2 = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "sst2"


@pytest.fixture
def sst_dir(tmp_path: Path) -> Path:
    return make_sst_dir(tmp_path / "sst")


def test_tokenizer_splits_clitics_like_the_treebank():
    """Raw text and SST-2's pre-tokenized text meet the same tokens."""
    assert tokenize("It's not bad, don't you think?") == ["it", "'s", "not", "bad", ",", "do", "n't", "you", "think", "?"]
    assert tokenize("it 's not bad , do n't you think ?") == tokenize("It's not bad, don't you think?")
    assert tokenize("a christmas-tree", lowercase=False) == ["a", "christmas-tree"]


def test_loads_folder_with_classlabel_names(sst_dir):
    dm = SentimentData(path=str(sst_dir), batch_size=8)
    spec = dm.data_spec
    assert spec["label_names"] == LABELS and spec["pad_id"] == 0
    assert "wonderful" in dm.vocab and spec["vocab_size"] == len(dm.vocab)
    batch = next(iter(dm.train_dataloader()))
    assert batch["input_ids"].shape[0] == 8 and batch["lengths"].max() == batch["input_ids"].shape[1]
    assert set(batch["labels"].tolist()) <= {0, 1} and len(batch["texts"]) == 8


def test_unlabelled_split_is_predicted_but_not_scored(sst_dir):
    dm = SentimentData(path=str(sst_dir))
    assert len(dm.encoded("predict")) == 30  # predict_split: test
    with pytest.raises(SeqlitError, match="no labels.*SST-2: validation"):
        dm.test_dataloader()
    assert len(SentimentData(path=str(sst_dir), test_split="validation").test_dataloader().dataset) == 40


def test_partly_unlabelled_rows_are_left_out_of_scoring(tmp_path):
    folder = make_sst_dir(tmp_path / "d")
    texts, labels = sentences(10, offset=500)
    write_split(folder / "validation.parquet", texts, labels[:6] + [-1] * 4)
    dm = SentimentData(path=str(folder))
    assert dm.encoded("validation")["index"][:] == list(range(6))


def test_string_labels_and_configured_names(tmp_path):
    (tmp_path / "train.jsonl").write_text("".join(json.dumps({"text": t, "y": ["neg", "pos"][y]}) + "\n"
                                                  for t, y in zip(*sentences(20))))
    dm = SentimentData(path=str(tmp_path / "train.jsonl"), text_column="text", label_column="y")
    assert dm.data_spec["label_names"] == ["neg", "pos"]
    assert dm.encoded("train")["label"][:2] == [1, 0]
    dm = SentimentData(path=str(tmp_path / "train.jsonl"), text_column="text", label_column="y", label_names=["pos", "neg"])
    assert dm.encoded("train")["label"][:2] == [0, 1]


def test_labels_map_by_name_to_the_checkpoint_order(tmp_path):
    """Data whose ClassLabel lists the names in another order than the model's still gets the model's ids."""
    write_split(tmp_path / "train.parquet", sentences(4)[0], [1, 0, 1, 0])  # ClassLabel(negative, positive)
    dm = SentimentData(path=str(tmp_path), label_names=["positive", "negative"])
    assert dm.encoded("train")["label"][:] == [0, 1, 0, 1]


def test_multiclass(tmp_path):
    texts = [f"review number {i} says {w}" for i, w in enumerate(["bad", "okay", "good"] * 5)]
    write_split(tmp_path / "train.parquet", texts, [0, 1, 2] * 5, names=["neg", "neutral", "pos"])
    dm = SentimentData(path=str(tmp_path))
    assert dm.data_spec["label_names"] == ["neg", "neutral", "pos"]


NUMBERS = ["negative", "positive"]


@pytest.mark.parametrize(
    "kwargs, train, message",
    [
        ({"text_column": "review"}, None, "no column 'review'.*text_column"),
        ({"label_column": "stars"}, None, "no column 'stars'"),
        ({"val_split": "dev2"}, None, "no 'dev2' split"),
        ({"label_names": NUMBERS}, (["good film", "bad film"], [0, 7], None), "label 7 is not one of"),
        ({}, (["good film", "bad film"], [0, 1], None), "set data.init_args.label_names"),
        ({}, (["good film", "  ", "bad"], [1, 0, 0], NUMBERS), "text 1 .* has no words"),
        ({}, ([], [], NUMBERS), "empty|no data"),
    ],
)
def test_errors_name_the_culprit(tmp_path, kwargs, train, message):
    path = make_sst_dir(tmp_path / "d", n_train=20)
    if train:  # a single file: the train split alone
        texts, labels, names = train
        path = tmp_path / "train.parquet"
        write_split(path, texts, labels, names=names)
    dm = SentimentData(path=str(path), **kwargs)
    with pytest.raises(SeqlitError, match=message):
        dm.setup("fit")
        dm.train_dataloader()
        dm.val_dataloader()


def test_bad_arguments():
    with pytest.raises(SeqlitError, match="data.max_length must be a positive"):
        SentimentData(max_length=0)
    with pytest.raises(SeqlitError, match="two or more distinct"):
        SentimentData(label_names=["only"])


def test_long_documents_are_truncated_and_counted(tmp_path, caplog):
    """IMDB-length reviews: cut to max_length tokens, and the cut is reported per split."""
    long_review = " ".join(["a long and winding review"] * 200)  # 1000 tokens
    write_split(tmp_path / "train.parquet", [long_review, "short and sweet", long_review], [1, 1, 0])
    dm = SentimentData(path=str(tmp_path), max_length=50)
    with caplog.at_level(logging.INFO):
        examples = dm.encoded("train")
    assert [len(x) for x in examples["ids"][:]] == [50, 3, 50]
    assert dm.truncated["train"] == 2
    assert "train: 2 of 3 texts were longer than data.max_length=50" in caplog.text


def test_predict_file_lines_and_jsonl(sst_dir, tmp_path):
    dm = SentimentData(path=str(sst_dir))
    dm.ensure_vocab()
    raw = tmp_path / "raw.txt"
    raw.write_text("What a wonderful film!\n\n  \nDull.\n", encoding="utf-8")
    dm.predict_file = str(raw)
    examples = dm.encode_lines(dm.predict_lines())
    assert examples["index"][:] == [0, 3] and examples["text"][:] == ["What a wonderful film!", "Dull."]
    jsonl = tmp_path / "raw.jsonl"
    jsonl.write_text('{"sentence": "great"}\n{"text": "boring"}\n{"other": 1}\n', encoding="utf-8")
    dm.predict_file = str(jsonl)
    with pytest.raises(SeqlitError, match=r"raw.jsonl:3: each line needs a 'sentence' or 'text' string"):
        dm.encode_lines(dm.predict_lines())
    jsonl.write_text('{"sentence": "great"}\n{"text": "boring"}\n', encoding="utf-8")
    assert dm.encode_lines(dm.predict_lines())["text"][:] == ["great", "boring"]


def test_vocab_round_trips_through_state(sst_dir):
    dm = SentimentData(path=str(sst_dir))
    state = dm.state_dict()
    fresh = SentimentData(path="never/read")
    fresh.load_state_dict(state)
    assert fresh.data_spec == dm.data_spec


@pytest.mark.skipif(not SHARED_SST2.is_dir(), reason=f"shared SST-2 copy {SHARED_SST2} is absent")
def test_shared_sst2():
    dm = SentimentData(path=str(SHARED_SST2), test_split="validation")
    spec = dm.data_spec
    assert spec["label_names"] == ["negative", "positive"] and 10_000 < spec["vocab_size"] < 20_000
    assert len(dm.encoded("train")) == 67349 and len(dm.test_dataloader().dataset) == 872
    assert len(dm.encoded("predict")) == 1821
    assert dm.truncated["validation"] == 0
