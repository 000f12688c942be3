"""Local parquet streams (data_modules/parquet_stream.py): `datasets`' parquet builder's rows, shards and features,
read a batch of rows at a time."""

from __future__ import annotations

import datasets
import pyarrow.parquet as pq

from data_modules import parquet_stream
from data_modules.loading import stream_splits


def test_rows_shards_and_features_are_the_parquet_builders(tmp_path, monkeypatch):
    monkeypatch.setattr(parquet_stream, "ROWS", 3)
    features = datasets.Features({"tokens": datasets.Sequence(datasets.Value("string")),
                                  "label": datasets.ClassLabel(names=["neg", "pos"])})
    for name, start in (("train-00000-of-00002.parquet", 0), ("train-00001-of-00002.parquet", 10)):
        rows = {"tokens": [[f"w{i}", "x"] for i in range(start, start + 10)], "label": [i % 2 for i in range(10)]}
        datasets.Dataset.from_dict(rows, features=features).to_parquet(tmp_path / name, batch_size=4)  # 3 row groups
    files = sorted(str(f) for f in tmp_path.glob("*.parquet"))
    assert pq.ParquetFile(files[0]).num_row_groups == 3
    ours = stream_splits(str(tmp_path), None)["train"]
    theirs = datasets.load_dataset("parquet", data_files=files, split="train", streaming=True)
    assert list(ours) == list(theirs) and len(list(ours)) == 20
    assert ours.features == features and ours.n_shards == theirs.n_shards == 2
