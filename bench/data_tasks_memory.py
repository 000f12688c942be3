"""Setup time and private memory of the map-style data modules, one fresh process per measurement.

    python bench/data_tasks_memory.py REPO [REPO ...]     # e.g. a worktree of the baseline commit, then this one
    python bench/data_tasks_memory.py --corpora wikitext2-pairs,dates REPO [REPO ...]

For each repository (its `data_modules` imported through PYTHONPATH) and each corpus (CoNLL-2003, SST-2 from
../shared/data; `wikitext2-pairs`: TranslationData on WikiText-2's lines paired with their words reversed,
36,718 training pairs written as parquet to a temporary folder, as no parallel corpus ships in ../shared/data;
`dates`: DatesData's 30,000 generated training pairs): the wall time from construction to the first training batch (vocabulary, encoding, the
loader) with a cold `datasets` cache (a new HF_DATASETS_CACHE) and again with that cache warm, and the peak
private memory (`RssAnon` of /proc/self/status, sampled every 20 ms) above the level after the imports.
Memory-mapped Arrow pages are shared and reclaimable, so they do not count: that is the point of the measure.

    python bench/data_tasks_memory.py REPO --repeat 10 --paths map stream

CoNLL-2003 only, its training split repeated x10 into a temporary parquet folder, the map-style path against
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
# name -> (module, class, keyword arguments; a `path` is relative to DATA, or None for the generated corpus)
CORPORA = {"conll2003": ("data_modules.tagging", "TaggingData", {"path": "conll2003"}),
           "sst2": ("data_modules.sentiment", "SentimentData", {"path": "sst2"}),
           "wikitext2-pairs": ("data_modules.translation", "TranslationData", {"path": None, "source_key": "de", "target_key": "en"}),
           "dates": ("data_modules.dates", "DatesData", {})}

CHILD = r"""
import importlib, json, sys, threading, time
def rss():
    for line in open("/proc/self/status"):
        if line.startswith("RssAnon:"):
            return int(line.split()[1]) * 1024
module, cls, kwargs = sys.argv[1], sys.argv[2], json.loads(sys.argv[3])
Data = getattr(importlib.import_module(module), cls)
import torch, datasets  # noqa: imported before the baseline
base, peak, done = rss(), [0], False
def sample():
    while not done:
        peak[0] = max(peak[0], rss()); time.sleep(0.02)
threading.Thread(target=sample, daemon=True).start()
start = time.perf_counter()
dm = Data(**kwargs, seed=0)
dm.prepare_data(); dm.setup("fit")
next(iter(dm.train_dataloader()))
seconds = time.perf_counter() - start
done = True; peak[0] = max(peak[0], rss())
print(json.dumps({"seconds": round(seconds, 2), "private_mb": round((peak[0] - base) / 2**20, 1)}))
"""


def reversed_pairs(folder: Path) -> Path:
    """WikiText-2's non-blank lines (column `de`) paired with their words in reverse order (`en`), as parquet."""
    import datasets

    for split in ("train", "validation", "test"):
        lines = [t.strip() for t in datasets.Dataset.from_parquet(str(DATA / "wikitext-2" / f"{split}.parquet"))["text"] if t.strip()]
        datasets.Dataset.from_dict({"de": lines, "en": [" ".join(t.split()[::-1]) for t in lines]}).to_parquet(
            str(folder / f"{split}.parquet"))
    return folder


def measure(repo: str, corpus: str, cache: str, pairs: Path | None, **extra) -> dict:
    module, cls, kwargs = CORPORA[corpus]
    if "path" in kwargs:
        kwargs = {**kwargs, "path": str(DATA / kwargs["path"] if kwargs["path"] else pairs)}
    kwargs.update(extra)
    env = {**os.environ, "PYTHONPATH": repo, "HF_DATASETS_CACHE": cache, "HF_DATASETS_OFFLINE": "1",
           "HF_HUB_OFFLINE": "1", "HF_DATASETS_DISABLE_PROGRESS_BARS": "1"}
    out = subprocess.run([sys.executable, "-c", CHILD, module, cls, json.dumps(kwargs)], env=env, cwd=repo,
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
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("repos", nargs="+")
    parser.add_argument("--corpora", default=",".join(CORPORA), help=f"comma-separated, of {', '.join(CORPORA)}")
    parser.add_argument("--repeat", type=int, default=0, help="CoNLL-2003's train split this many times over (0: the corpora as they are)")
    parser.add_argument("--paths", nargs="+", default=["map"], choices=["map", "stream"])
    args = parser.parse_args()
    if args.repeat:
        with tempfile.TemporaryDirectory() as tmp:
            folder = repeated(Path(tmp), args.repeat)
            for repo in args.repos:
                for path in args.paths:
                    with tempfile.TemporaryDirectory() as cache:
                        cold, warm = (measure(repo, "conll2003", cache, None, path=str(folder), streaming=path == "stream")
                                      for _ in range(2))
                    print(json.dumps({"repo": repo, "path": path, "train": f"x{args.repeat}", "cold": cold, "warm": warm}), flush=True)
        return
    with tempfile.TemporaryDirectory() as tmp:
        pairs = reversed_pairs(Path(tmp)) if "wikitext2-pairs" in args.corpora.split(",") else None
        for repo in args.repos:
            for corpus in args.corpora.split(","):
                with tempfile.TemporaryDirectory() as cache:
                    cold, warm = measure(repo, corpus, cache, pairs), measure(repo, corpus, cache, pairs)
                print(json.dumps({"repo": repo, "corpus": corpus, "cold": cold, "warm": warm}), flush=True)


if __name__ == "__main__":
    main()
