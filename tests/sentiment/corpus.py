"""A tiny, learnable sentiment corpus written as parquet split files with `ClassLabel` metadata, like SST-2's."""

from __future__ import annotations

from pathlib import Path

import datasets

GOOD = ["great", "wonderful", "charming", "moving", "funny"]
BAD = ["dull", "awful", "boring", "tedious", "bland"]
LABELS = ["negative", "positive"]


def sentences(n: int, offset: int = 0) -> tuple[list[str], list[int]]:
    """`n` short reviews whose label is given by the one opinion word in them."""
    texts, labels = [], []
    for i in range(offset, offset + n):
        positive = i % 2 == 0
        word = (GOOD if positive else BAD)[i % 5]
        texts.append(f"the film {i % 3} is {word} and the cast {i % 4} too .")
        labels.append(int(positive))
    return texts, labels


def write_split(path: Path, texts: list[str], labels: list, names: list[str] | None = LABELS) -> None:
    label_feature = datasets.ClassLabel(names=names) if names else datasets.Value("int64")
    features = datasets.Features({"sentence": datasets.Value("string"), "label": label_feature, "idx": datasets.Value("int32")})
    data = {"sentence": texts, "label": labels, "idx": list(range(len(texts)))}
    datasets.Dataset.from_dict(data, features=features).to_parquet(str(path))


def make_sst_dir(folder: Path, n_train: int = 200) -> Path:
    """train / validation labelled, test unlabelled (-1), as in GLUE SST-2."""
    folder.mkdir(parents=True, exist_ok=True)
    write_split(folder / "train.parquet", *sentences(n_train))
    write_split(folder / "validation.parquet", *sentences(40, offset=1000))
    texts, _ = sentences(30, offset=2000)
    write_split(folder / "test.parquet", texts, [-1] * len(texts))
    return folder
