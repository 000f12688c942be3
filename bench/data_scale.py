"""The language model's data path at scale: WikiText-2's training split ×1, ×10, ×50 (issue 36, item 6).

For each scale, each code tree (this checkout and, with `--tree`, another one as the baseline) and each
path (map-style; `streaming: true` where the tree has it), a fresh child process builds
`LanguageModelingData(path, level="word", batch_size=20, bptt=35)`, runs `prepare_data()` and
`setup("fit")` and takes the first training batch (the time reported; also the part after the vocabulary
and `prepare_data`, from `setup` on), then walks the training loader
(all of it map-style, `--stream-windows` windows streamed). It runs twice: on a fresh, empty `datasets`
cache (first setup) and again on the cache the first left (cached setup). The parent samples the child's
private memory (`RssAnon` of /proc/PID/status: memory-mapped file pages are shared and reclaimable, so
they do not count) every 50 ms; the figure is the peak above the child's own level after its imports.

Then, on ×10, two children set up at once on a fresh cache (two DDP ranks of one machine: the same files,
each rank's own process) and their peaks are summed; each says whether it encoded (`datasets` printed
its map progress) or found the other's files. Last, training tokens/s over `--steps` steps of a small
LSTM (Lightning's Trainer, one thread) at ×1 for each tree, alternated `--repeats` times (the median).

    git archive 40bcd84 | (mkdir -p /tmp/base && tar -x -C /tmp/base)
    python bench/data_scale.py --tree /tmp/base --scales 1 10 50

The load on the machine (/proc/loadavg) is printed before and after: other work on a shared machine
slows every figure here.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

HERE = Path(__file__).resolve().parents[1]
WIKITEXT = Path("/work/shared/data/wikitext-2") if Path("/work/shared/data/wikitext-2").is_dir() else HERE.parent / "shared" / "data" / "wikitext-2"


def rss_anon(pid: int | str = "self") -> int:
    """Private resident memory of a process, bytes (0 once it is gone)."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("RssAnon:"):
                return int(line.split()[1]) * 1024
    except (FileNotFoundError, ProcessLookupError):
        pass
    return 0


# -- the children ------------------------------------------------------------------------------------------------

def child_setup(path: str, streaming: bool, stream_windows: int) -> dict:
    import torch  # noqa: F401  (the imports a run makes, before the baseline)
    import pytorch_lightning  # noqa: F401
    from data_modules import LanguageModelingData

    baseline = rss_anon()
    start = time.perf_counter()
    dm = LanguageModelingData(path=path, level="word", batch_size=20, bptt=35, **({"streaming": True} if streaming else {}))
    dm.data_spec  # the vocabulary, as the CLI builds it to link its size into the model
    dm.prepare_data()
    ready = time.perf_counter()
    dm.setup("fit")
    batches = iter(dm.train_dataloader())
    first = next(batches)
    first_s = time.perf_counter() - start
    walked = 1
    for _ in batches:
        walked += 1
        if streaming and walked >= stream_windows:
            break
    return {"baseline": baseline, "first_batch_s": first_s, "from_setup_s": start + first_s - ready, "walk_s": time.perf_counter() - start - first_s,
            "windows": walked, "shape": list(first["input_ids"].shape)}


def child_train(path: str, steps: int) -> dict:
    import pytorch_lightning as pl
    import torch

    from data_modules import LanguageModelingData
    from seqlit.tasks import LanguageModel

    torch.set_num_threads(1)
    pl.seed_everything(0, verbose=False)
    dm = LanguageModelingData(path=path, level="word", batch_size=20, bptt=35)
    model = LanguageModel(dm.data_spec, backbone={"kind": "lstm", "hidden_size": 128, "num_layers": 1},
                          embedding_dim=128, dropout=0.1, adaptive_cutoffs=[1000, 5000])
    times = []

    class Clock(pl.Callback):
        def on_train_batch_start(self, *args):
            times.append(time.perf_counter())

    trainer = pl.Trainer(max_steps=steps + 1, limit_val_batches=0, logger=False, enable_checkpointing=False,
                         enable_progress_bar=False, enable_model_summary=False, num_sanity_val_steps=0,
                         callbacks=[Clock()], accelerator="cpu")
    trainer.fit(model, datamodule=dm)
    return {"tokens_per_s": 20 * 35 * steps / (times[-1] - times[0])}


# -- the parent --------------------------------------------------------------------------------------------------

def run_child(tree: Path, cache: Path, mode: str, *args: str) -> dict:
    """Run a child in `tree` on `cache`; its result, with its peak private memory above its baseline."""
    env = {**os.environ, "PYTHONPATH": str(tree), "HF_DATASETS_CACHE": str(cache), "HF_DATASETS_OFFLINE": "1",
           "WANDB_MODE": "offline", "OMP_NUM_THREADS": "1", "TOKENIZERS_PARALLELISM": "false"}
    proc = subprocess.Popen([sys.executable, __file__, "--child", mode, *args], cwd=tree, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    peak = [0]

    def sample():
        while proc.poll() is None:
            peak[0] = max(peak[0], rss_anon(proc.pid))
            time.sleep(0.05)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    out, err = proc.communicate(timeout=1800)
    sampler.join()
    if proc.returncode != 0:
        raise SystemExit(f"child {mode} {args} in {tree} failed ({proc.returncode}):\n{err[-3000:]}")
    result = json.loads(out.strip().splitlines()[-1])
    result["peak_mb"] = (peak[0] - result.get("baseline", 0)) / 2**20 if "baseline" in result else None
    result["encoded"] = "encoding tokens" in err
    return result


def write_corpora(folder: Path, scales: list[int]) -> dict[int, Path]:
    """WikiText-2's train split repeated ×k (validation and test once), as text files."""
    import pyarrow.parquet as pq

    texts = {s: pq.read_table(WIKITEXT / f"{s}.parquet", columns=["text"]).column("text").to_pylist()
             for s in ("train", "validation", "test")}
    out = {}
    for k in scales:
        d = folder / f"x{k}"
        if not (d / "done").exists():
            d.mkdir(parents=True, exist_ok=True)
            lines = "".join(t.rstrip("\n") + "\n" for t in texts["train"])
            with open(d / "train.txt", "w", encoding="utf-8") as f:
                for _ in range(k):
                    f.write(lines)
            for split, name in (("validation", "valid"), ("test", "test")):
                (d / f"{name}.txt").write_text("".join(t.rstrip("\n") + "\n" for t in texts[split]), encoding="utf-8")
            (d / "done").touch()
        out[k] = d
    return out


def has_streaming(tree: Path) -> bool:
    return "streaming" in (tree / "data_modules" / "language_modeling.py").read_text()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tree", type=Path, help="another checkout (e.g. today's main) measured as the baseline")
    parser.add_argument("--scales", type=int, nargs="+", default=[1, 10, 50])
    parser.add_argument("--baseline-scales", type=int, nargs="+", help="scales run for the baseline (default: --scales)")
    parser.add_argument("--work", type=Path, default=Path(tempfile.gettempdir()) / "seqlit-data-scale")
    parser.add_argument("--stream-windows", type=int, default=2000, help="windows walked on the streaming path")
    parser.add_argument("--steps", type=int, default=200)
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--ddp-scale", type=int, default=10, help="0: no two-rank run")
    parser.add_argument("--paths", nargs="+", default=["map", "stream"], help="map, stream (where the tree has it)")
    parser.add_argument("--child", nargs="+", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        mode, *rest = args.child
        result = child_setup(rest[0], rest[1] == "1", int(rest[2])) if mode == "setup" else child_train(rest[0], int(rest[1]))
        print(json.dumps(result))
        return

    print(f"load before: {Path('/proc/loadavg').read_text().strip()}", flush=True)
    trees = {"this": HERE, **({"baseline": args.tree.resolve()} if args.tree else {})}
    corpora = write_corpora(args.work / "corpora", sorted({1, *args.scales, *(args.baseline_scales or []), args.ddp_scale} - {0}))
    print("| tree | path | scale | tokens | first setup s | of which setup() → first batch | peak MB | cached setup s | "
          "peak MB (cached) | walk s |\n|---|---|---:|---:|---:|---:|---:|---:|---:|---:|", flush=True)
    for name, tree in trees.items():
        scales = args.baseline_scales if name == "baseline" and args.baseline_scales else args.scales
        for path in [p for p in args.paths if p == "map" or has_streaming(tree)]:
            for k in scales:
                cache = Path(tempfile.mkdtemp(prefix=f"hf-{name}-{path}-x{k}-", dir=args.work))
                child = ("setup", str(corpora[k]), str(int(path == "stream")), str(args.stream_windows))
                first = run_child(tree, cache, *child)
                cached = run_child(tree, cache, *child)
                print(f"| {name} | {path} | ×{k} | {2_088_628 * k / 1e6:.1f} M | {first['first_batch_s']:.1f} | "
                      f"{first['from_setup_s']:.2f} | "
                      f"{first['peak_mb']:.0f} | {cached['first_batch_s']:.2f} | {cached['peak_mb']:.0f} | "
                      f"{first['walk_s']:.1f} ({first['windows']} windows) |", flush=True)
                subprocess.run(["rm", "-rf", str(cache)], check=False)

    if args.ddp_scale:
        print(f"\ntwo ranks at once on ×{args.ddp_scale}, a fresh cache (peak private MB above each one's baseline):", flush=True)
    for name, tree in trees.items() if args.ddp_scale else ():
        cache = Path(tempfile.mkdtemp(prefix=f"hf-{name}-ddp-", dir=args.work))
        child = ("setup", str(corpora[args.ddp_scale]), "0", "0")
        one = run_child(tree, Path(tempfile.mkdtemp(prefix=f"hf-{name}-one-", dir=args.work)), *child)
        results = [None, None]

        def rank(i):
            results[i] = run_child(tree, cache, *child)

        threads = [threading.Thread(target=rank, args=(i,)) for i in range(2)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        summed = sum(r["peak_mb"] for r in results)
        print(f"- {name}: one rank {one['peak_mb']:.0f} MB; two ranks {results[0]['peak_mb']:.0f} + {results[1]['peak_mb']:.0f} = "
              f"{summed:.0f} MB ({summed / one['peak_mb']:.2f}× one rank); first batch {results[0]['first_batch_s']:.1f} s / "
              f"{results[1]['first_batch_s']:.1f} s; ranks that ran the encoding map: "
              f"{sum(r['encoded'] for r in results) if has_streaming(tree) else 'both (in memory)'}", flush=True)

    if args.repeats:
        print(f"\ntraining tokens/s at ×1 ({args.steps} steps, LSTM 128, adaptive softmax, batch 20 × bptt 35, one thread):", flush=True)
    speeds = {name: [] for name in trees}
    for _ in range(args.repeats):
        for name, tree in trees.items():
            speeds[name].append(run_child(tree, args.work / "hf-train", "train", str(corpora[1]), str(args.steps))["tokens_per_s"])
    for name, values in speeds.items() if args.repeats else ():
        print(f"- {name}: median {statistics.median(values):,.0f} tokens/s (runs: {', '.join(f'{v:,.0f}' for v in values)})")
    if "baseline" in speeds and args.repeats:
        print(f"- this / baseline: {statistics.median(speeds['this']) / statistics.median(speeds['baseline']):.3f}")
    print(f"load after: {Path('/proc/loadavg').read_text().strip()}")


if __name__ == "__main__":
    main()
