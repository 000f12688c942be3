"""`load_splits`: folders laid out as corpora ship, single files, task formats, and the one-line errors."""

from __future__ import annotations

import gzip
from pathlib import Path

import datasets
import pytest

from data_modules.loading import load_splits, read_lines
from seqlit.errors import SeqlitError

SHARED = Path(__file__).resolve().parents[2].parent / "shared" / "data"


def lines(data: datasets.DatasetDict) -> dict[str, list[str]]:
    return {split: ds["text"][:] for split, ds in data.items()}


def test_penn_treebank_as_mikolov_ships_it(tmp_path):
    """`ptb.train.txt` / `ptb.valid.txt` / `ptb.test.txt` (and a README beside them) load as they are."""
    for split, text in (("train", " the cat sat \n a dog ran \n"), ("valid", " no it did n't \n"), ("test", " ok \n")):
        (tmp_path / f"ptb.{split}.txt").write_text(text, encoding="utf-8")
    (tmp_path / "README").write_text("Penn Treebank, Mikolov's preprocessing\n", encoding="utf-8")
    assert lines(load_splits(str(tmp_path))) == {"train": [" the cat sat ", " a dog ran "],
                                                 "validation": [" no it did n't "], "test": [" ok "]}


@pytest.mark.parametrize("names, expected", [
    (["train.jsonl", "validation.jsonl", "test.jsonl"], ["train", "validation", "test"]),
    (["train.tsv", "dev.tsv"], ["train", "validation"]),
    (["train-00000-of-00002.parquet", "train-00001-of-00002.parquet", "test-00000-of-00001.parquet"], ["train", "test"]),
    (["train/part0.csv", "train/part1.csv", "val/part0.csv"], ["train", "validation"]),
    (["corpus.csv"], ["train"]),  # no split keyword: one train split
])
def test_split_names_come_from_datasets_patterns(tmp_path, names, expected):
    for name in names:
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        sep = "\t" if name.endswith(".tsv") else ","
        if name.endswith(".parquet"):
            datasets.Dataset.from_dict({"text": [name]}).to_parquet(str(path))
        elif name.endswith(".jsonl"):
            path.write_text(f'{{"text": "{name}"}}\n', encoding="utf-8")
        else:
            path.write_text(f"text{sep}n\n{name}{sep}1\n", encoding="utf-8")
    data = load_splits(str(tmp_path))
    assert list(data) == expected
    assert sum(len(ds) for ds in data.values()) == len(names)  # shards of a split are one split


def test_one_format_per_folder_and_compressed_text(tmp_path):
    """A parquet copy next to a text copy (wikitext-2's layout): the parquet is read, the text folder alone is text."""
    datasets.Dataset.from_dict({"text": ["from parquet"]}).to_parquet(str(tmp_path / "train.parquet"))
    (tmp_path / "text").mkdir()
    with gzip.open(tmp_path / "text" / "train.txt.gz", "wt", encoding="utf-8") as f:
        f.write("from text\n")
    assert lines(load_splits(str(tmp_path))) == {"train": ["from parquet"]}
    assert lines(load_splits(str(tmp_path / "text"))) == {"train": ["from text"]}


def test_a_task_reader_takes_its_suffixes(tmp_path):
    (tmp_path / "train.conll").write_text("a O\n", encoding="utf-8")
    (tmp_path / "eng.testb.txt").write_text("b O\n", encoding="utf-8")  # `testb` is no split keyword
    (tmp_path / "valid.txt").write_text("c O\n", encoding="utf-8")
    read = lambda path: datasets.Dataset.from_dict({"file": [path.name]})  # noqa: E731
    data = load_splits(str(tmp_path), readers=dict.fromkeys((".conll", ".txt"), read))
    assert {s: ds["file"][:] for s, ds in data.items()} == {"train": ["train.conll"], "validation": ["valid.txt"]}


@pytest.mark.skipif(not SHARED.is_dir(), reason=f"shared data {SHARED} is absent")
@pytest.mark.parametrize("folder, rows", [
    ("conll2003", {"train": 14041, "validation": 3250, "test": 3453}),
    ("sst2", {"train": 67349, "validation": 872, "test": 1821}),
    ("wikitext-2", {"train": 36718, "validation": 3760, "test": 4358}),
    ("wikitext-2/text", {"train": 36718, "validation": 3760, "test": 4358}),
    ("tiny_shakespeare", {"train": 40000}),
])
def test_every_shared_folder_loads_as_it_is(folder, rows):
    assert {split: len(ds) for split, ds in load_splits(str(SHARED / folder)).items()} == rows


def test_lines_split_on_newlines_only(tmp_path):
    path = tmp_path / "a.txt"
    path.write_bytes("one\u2028still one\r\ntwo\n".encode())
    assert read_lines(path) == ["one\u2028still one", "two"]


@pytest.mark.parametrize("make, message", [
    (lambda d: (d / "train.txt").write_bytes(b""), r"train.txt' is empty \(0 bytes\): give it some data"),
    (lambda d: (d / "valid.txt").write_bytes("caf\xe9\n".encode("latin-1")),
     r"valid.txt' is not UTF-8 text \(invalid continuation byte at byte 3\): re-encode it as UTF-8"),
    (lambda d: (d / "notes.md").write_text("hi"), r"holds no split files: expected files with one of the suffixes"),
])
def test_bad_folders_are_one_line_naming_the_file(tmp_path, make, message):
    (tmp_path / "train.txt").write_text("fine\n", encoding="utf-8")
    (tmp_path / "test.txt").write_text("fine\n", encoding="utf-8")
    if "split files" in message:
        for p in tmp_path.iterdir():
            p.unlink()
    make(tmp_path)
    with pytest.raises(SeqlitError, match=message):
        load_splits(str(tmp_path))


def test_unknown_suffix_missing_path_and_offline_hub(tmp_path, monkeypatch):
    (tmp_path / "corpus.docx").write_text("x")
    with pytest.raises(SeqlitError, match=r"corpus.docx' has an unknown suffix: use one of .parquet, .csv"):
        load_splits(str(tmp_path / "corpus.docx"))
    with pytest.raises(SeqlitError, match=rf"does not exist \(looked for {tmp_path}/nowhere\): pass an existing folder or file, or a hub dataset id"):
        load_splits(str(tmp_path / "nowhere"))
    monkeypatch.setenv("HF_DATASETS_OFFLINE", "1")
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(SeqlitError, match=r"'nobody/nothing' is no local file or folder .* the hub is offline .* pass local files instead"):
        load_splits("nobody/nothing")


def test_a_relative_path_is_read_from_the_working_directory_and_the_error_says_so(tmp_path, monkeypatch):
    """The decision (docs/errors.md, README): relative data paths, in a config file or on the command line, are read
    from the working directory, like every path on a command line; the shipped configs name ../shared/data that way,
    to be run from the repository root."""
    (tmp_path / "here").mkdir()
    (tmp_path / "here" / "corpus.txt").write_text("one line\nanother line\n", encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    assert load_splits("here/corpus.txt")["train"]["text"] == ["one line", "another line"]
    monkeypatch.chdir(tmp_path / "here")
    with pytest.raises(SeqlitError) as err:
        load_splits("./here/corpus.txt")
    assert str(err.value) == (f"data.path './here/corpus.txt' does not exist (looked for {tmp_path}/here/here/corpus.txt: "
                              f"a relative path is read from the working directory {tmp_path}/here, not from the config "
                              "file's folder): pass an existing folder or file, or a hub dataset id")


def test_a_parquet_column_of_two_types_names_the_file_the_column_and_both_types(tmp_path):
    """The files of one split disagree on a column's type: one line naming the file, the column and both types."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    pq.write_table(pa.table({"sentence": ["a", "b"], "label": [0, 1]}), tmp_path / "train-00000-of-00002.parquet")
    pq.write_table(pa.table({"sentence": ["c", "d"], "label": [[1], [0]]}), tmp_path / "train-00001-of-00002.parquet")
    with pytest.raises(SeqlitError) as err:
        load_splits(str(tmp_path))
    message = str(err.value)
    assert "\n" not in message
    assert "train-00001-of-00002.parquet" in message and "'label'" in message
    assert "list<element: int64>" in message and "int64 in" in message and "train-00000-of-00002.parquet" in message
