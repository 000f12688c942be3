"""Setup time and private memory of the tagging and sentiment data modules, one fresh process per measurement.

    python bench/data_tasks_memory.py REPO [REPO ...]     # e.g. a worktree of the baseline commit, then this one

For each repository (its `data_modules` imported through PYTHONPATH) and each corpus (CoNLL-2003, SST-2 from
../shared/data): the wall time from construction to the first training batch (vocabulary, encoding, the
loader) with a cold `datasets` cache (a new HF_DATASETS_CACHE) and again with that cache warm, and the peak
private memory (`RssAnon` of /proc/self/status, sampled every 20 ms) above the level after the imports.
Memory-mapped Arrow pages are shared and reclaimable, so they do not count: that is the point of the measure.

    python bench/data_tasks_memory.py REPO --repeat 10 --paths map stream

CoNLL-2003 only, its training split repeated ×10 into a temporary parquet folder, the map-style path against
`streaming: true` (whose first pass reads the default `vocab_max_rows` = 1,000,000 sentences: all of them).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"
if not DATA.is_dir():
    DATA = Path("/work/shared/data")
CORPORA = {"conll2003": ("data_modules.tagging", "TaggingData", "conll2003"),
           "sst2": ("data_modules.sentiment", "SentimentData", "sst2")}

CHILD = r"""
import importlib, json, sys, threading, time
def rss():
    for line in open("/proc/self/status"):
        if line.startswith("RssAnon:"):
            return int(line.split()[1]) * 1024
module, cls, path, kwargs = sys.argv[1:5]
Data = getattr(importlib.import_module(module), cls)
import torch, datasets  # noqa: imported before the baseline
base, peak, done = rss(), [0], False
def sample():
    while not done:
        peak[0] = max(peak[0], rss()); time.sleep(0.02)
threading.Thread(target=sample, daemon=True).start()
start = time.perf_counter()
dm = Data(path=path, seed=0, **json.loads(kwargs))
dm.prepare_data(); dm.setup("fit")
next(iter(dm.train_dataloader()))
seconds = time.perf_counter() - start
done = True; peak[0] = max(peak[0], rss())
print(json.dumps({"seconds": round(seconds, 2), "private_mb": round((peak[0] - base) / 2**20, 1)}))
"""


def measure(repo: str, corpus: str, cache: str, folder: Path | None = None, **kwargs) -> dict:
    module, cls, name = CORPORA[corpus]
    env = {**os.environ, "PYTHONPATH": repo, "HF_DATASETS_CACHE": cache, "HF_DATASETS_OFFLINE": "1",
           "HF_HUB_OFFLINE": "1", "HF_DATASETS_DISABLE_PROGRESS_BARS": "1"}
    out = subprocess.run([sys.executable, "-c", CHILD, module, cls, str(folder or DATA / name), json.dumps(kwargs)], env=env, cwd=repo,
                         capture_output=True, text=True, timeout=900, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def repeated(folder: Path, times: int) -> Path:
    """CoNLL-2003 with its training split `times` over, as parquet files in `folder`."""
    import datasets
    splits = {s: datasets.load_dataset("parquet", data_files=str(DATA / "conll2003" / f"{s}.parquet"), split="train")
              for s in ("train", "validation", "test")}
    splits["train"] = datasets.concatenate_datasets([splits["train"]] * times)
    for split, ds in splits.items():
        ds.to_parquet(folder / f"{split}.parquet")
    return folder


def main() -> None:
    args = argparse.ArgumentParser()
    args.add_argument("repos", nargs="+")
    args.add_argument("--repeat", type=int, default=0, help="CoNLL-2003's train split this many times over (0: both corpora as they are)")
    args.add_argument("--paths", nargs="+", default=["map"], choices=["map", "stream"])
    args = args.parse_args()
    if args.repeat:
        with tempfile.TemporaryDirectory() as tmp:
            folder = repeated(Path(tmp), args.repeat)
            for repo in args.repos:
                for path in args.paths:
                    with tempfile.TemporaryDirectory() as cache:
                        cold, warm = (measure(repo, "conll2003", cache, folder, streaming=path == "stream") for _ in range(2))
                    print(json.dumps({"repo": repo, "path": path, "train": f"x{args.repeat}", "cold": cold, "warm": warm}), flush=True)
        return
    for repo in args.repos:
        for corpus in CORPORA:
            with tempfile.TemporaryDirectory() as cache:
                cold, warm = measure(repo, corpus, cache), measure(repo, corpus, cache)
            print(json.dumps({"repo": repo, "corpus": corpus, "cold": cold, "warm": warm}), flush=True)


if __name__ == "__main__":
    main()
