"""Setup time and private memory of the tagging and sentiment data modules, one fresh process per measurement.

    python bench/data_tasks_memory.py REPO [REPO ...]     # e.g. a worktree of the baseline commit, then this one

For each repository (its `data_modules` imported through PYTHONPATH) and each corpus (CoNLL-2003, SST-2 from
../shared/data): the wall time from construction to the first training batch (vocabulary, encoding, the
loader) with a cold `datasets` cache (a new HF_DATASETS_CACHE) and again with that cache warm, and the peak
private memory (`RssAnon` of /proc/self/status, sampled every 20 ms) above the level after the imports.
Memory-mapped Arrow pages are shared and reclaimable, so they do not count: that is the point of the measure.
"""

from __future__ import annotations

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
module, cls, path = sys.argv[1:4]
Data = getattr(importlib.import_module(module), cls)
import torch, datasets  # noqa: imported before the baseline
base, peak, done = rss(), [0], False
def sample():
    while not done:
        peak[0] = max(peak[0], rss()); time.sleep(0.02)
threading.Thread(target=sample, daemon=True).start()
start = time.perf_counter()
dm = Data(path=path, seed=0)
dm.prepare_data(); dm.setup("fit")
next(iter(dm.train_dataloader()))
seconds = time.perf_counter() - start
done = True; peak[0] = max(peak[0], rss())
print(json.dumps({"seconds": round(seconds, 2), "private_mb": round((peak[0] - base) / 2**20, 1)}))
"""


def measure(repo: str, corpus: str, cache: str) -> dict:
    module, cls, folder = CORPORA[corpus]
    env = {**os.environ, "PYTHONPATH": repo, "HF_DATASETS_CACHE": cache, "HF_DATASETS_OFFLINE": "1",
           "HF_HUB_OFFLINE": "1", "HF_DATASETS_DISABLE_PROGRESS_BARS": "1"}
    out = subprocess.run([sys.executable, "-c", CHILD, module, cls, str(DATA / folder)], env=env, cwd=repo,
                         capture_output=True, text=True, timeout=900, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    for repo in sys.argv[1:]:
        for corpus in CORPORA:
            with tempfile.TemporaryDirectory() as cache:
                cold, warm = measure(repo, corpus, cache), measure(repo, corpus, cache)
            print(json.dumps({"repo": repo, "corpus": corpus, "cold": cold, "warm": warm}), flush=True)


if __name__ == "__main__":
    main()
