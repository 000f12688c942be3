"""A byte-order mark (what Windows editors write first) is dropped wherever a text file is read: CoNLL, plain
text, TSV/CSV, JSON lines, aligned parallel text and predict files; it never becomes part of a word or a line."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from data_modules.loading import load_splits, stream_splits
from data_modules.tagging import TaggingData
from data_modules.tagging_files import predict_sentences
from data_modules.translation import TranslationData

BOM = "\ufeff"


def with_bom(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(BOM.encode("utf-8") + text.encode("utf-8"))
    return path


def test_conll_file_has_no_phantom_docstart_sentence_or_word(tmp_path):
    conll = "-DOCSTART- -X- O\n\nJohn NN B-PER\nruns NN O\n\nAnn NN B-PER\n"
    for split in ("train", "valid", "test"):
        with_bom(tmp_path / f"{split}.conll", conll)
    dm = TaggingData(path=str(tmp_path), min_freq=1)
    dm.ensure_vocab()
    assert dm.sentences()["train"]["tokens"][:] == [["John", "runs"], ["Ann"]]
    assert not [w for w in dm.vocab.tokens + dm.chars.tokens if BOM in w]


@pytest.mark.parametrize("name, text, column", [
    ("train.txt", "the cat\na dog\n", "text"),
    ("train.csv", "sentence,label\nthe cat,1\na dog,0\n", "sentence"),
    ("train.tsv", "sentence\tlabel\nthe cat\t1\na dog\t0\n", "sentence"),
    ("train.jsonl", '{"sentence": "the cat", "label": 1}\n{"sentence": "a dog", "label": 0}\n', "sentence"),
])
def test_split_files_of_every_builder(tmp_path, name, text, column):
    train = load_splits(str(with_bom(tmp_path / name, text).parent))["train"]
    assert train.column_names[0] == column  # not '\ufeffsentence'
    assert train[column][:] == ["the cat", "a dog"]


def test_parallel_text_files(tmp_path):
    for split in ("train", "val", "test"):
        with_bom(tmp_path / f"{split}.de", "ein hund\neine katze\n")
        with_bom(tmp_path / f"{split}.en", "a dog\na cat\n")
    dm = TranslationData(path=str(tmp_path), min_freq=1)
    dm.ensure_vocab()
    assert dm.split("train")["de"][:] == ["ein hund", "eine katze"]
    assert not [w for w in dm.source_vocab.tokens + dm.target_vocab.tokens if BOM in w]


@pytest.mark.parametrize("name, text", [("raw.txt", "John lives in Paris.\n"),
                                        ("raw.jsonl", json.dumps({"text": "John lives in Paris."}) + "\n")])
def test_predict_file_offsets_are_not_shifted(tmp_path, name, text):
    path = str(with_bom(tmp_path / name, text))
    (sentence,) = predict_sentences(TaggingData(predict_file=path).predict_lines(), path)
    assert sentence["tokens"][0] == "John" and sentence["offsets"][0] == (0, 4)
    assert sentence["text"][slice(*sentence["offsets"][3])] == "Paris"


def test_streamed_plain_text(tmp_path):
    with_bom(tmp_path / "train.txt", "the cat\na dog\n")
    assert [row["text"] for row in stream_splits(str(tmp_path), None)["train"]] == ["the cat", "a dog"]
