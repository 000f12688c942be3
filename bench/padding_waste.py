"""Padding waste: the fraction of pad tokens in training batches, shuffled freely vs length-bucketed.

Every padded position costs a recurrent step that computes nothing. The
training splits of SST-2 and CoNLL-2003 (from the shared data folder) are
tokenized as seqlit's data modules do, then batched three ways over a few
epochs: shuffled at random (what a plain DataLoader does), with
`data_modules.bucketing.BucketBatchSampler` (what seqlit uses), and sorted
by length (the floor, but the same batches every epoch). Goal: <= 10% pad
with bucketing. No training, a few seconds:

    python bench/padding_waste.py --data-root ../shared/data
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import pyarrow.parquet as pq  # noqa: E402
import torch  # noqa: E402

from data_modules.bucketing import BucketBatchSampler  # noqa: E402
from data_modules.sentiment import tokenize  # noqa: E402


def lengths(data_root: str, dataset: str) -> list[int]:
    """Training-split lengths in tokens, as the data modules see them (batch sizes: the configs')."""
    table = pq.read_table(os.path.join(data_root, dataset, "train.parquet"))
    if dataset == "sst2":
        return [len(tokenize(s)) for s in table.column("sentence").to_pylist()]
    return [len(tokens) for tokens in table.column("tokens").to_pylist()]


def pad_fraction(batches: list[list[int]], lens: list[int]) -> float:
    padded = sum(max(lens[i] for i in b) * len(b) for b in batches)
    return 1 - sum(lens[i] for b in batches for i in b) / padded


def random_batches(n: int, batch_size: int, epoch: int) -> list[list[int]]:
    perm = torch.randperm(n, generator=torch.Generator().manual_seed(epoch)).tolist()
    return [perm[i : i + batch_size] for i in range(0, n, batch_size)]


def bucketed(lens: list[int], batch_size: int, epochs: int, **settings) -> float:
    sampler = BucketBatchSampler(lens, batch_size, shuffle=True, seed=0, **settings)
    total = 0.0
    for epoch in range(epochs):
        sampler.set_epoch(epoch)
        total += pad_fraction(sampler.batches(), lens)
    return total / epochs


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-root", default=str(Path(__file__).resolve().parents[2] / "shared" / "data"))
    parser.add_argument("--epochs", type=int, default=3, help="epochs averaged (each shuffles differently)")
    args = parser.parse_args()
    print(f"command: python {' '.join(sys.argv)}\n")
    data = {name: (lengths(args.data_root, name), batch_size) for name, batch_size in (("sst2", 64), ("conll2003", 32))}
    print("| dataset | sentences | batch | mean length | random shuffle | bucketed (seqlit defaults) | sorted (floor) |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    for name, (lens, batch_size) in data.items():
        rand = sum(pad_fraction(random_batches(len(lens), batch_size, e), lens) for e in range(args.epochs)) / args.epochs
        floor = pad_fraction(BucketBatchSampler(lens, batch_size, shuffle=False).batches(), lens)
        print(f"| {name} | {len(lens):,} | {batch_size} | {sum(lens) / len(lens):.1f} | {rand:.1%} "
              f"| {bucketed(lens, batch_size, args.epochs):.1%} | {floor:.1%} |")
    # the sampler's two knobs: bigger pools and less length noise both cut padding (and batch variety)
    print("\n| pool_batches | noise | " + " | ".join(data) + " |")
    print("|---:|---:|" + "---:|" * len(data))
    for pool in (50, 100, 200):
        for noise in (0.1, 0.05, 0.0):
            cells = [f"{bucketed(lens, bs, args.epochs, pool_batches=pool, noise=noise):.1%}" for lens, bs in data.values()]
            print(f"| {pool} | {noise} | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
