"""Peak private memory and lines/s of `python -m seqlit predict` over generated files of growing size.

`predict` streams (data_modules/predict_stream.py, seqlit/callbacks/predictions.py): memory should stay flat
whatever the input's size. Each size runs `predict` as a child process on a file of that many tagging sentences
(the 0.1 tagger of tests/fixtures/legacy: a tiny BiLSTM-CRF), with the JSON lines written to a file; the child's
`RssAnon` (/proc/PID/status: private memory, not the shared, reclaimable pages of mapped files) is sampled every
20 ms. Lines/s counts the whole command, imports and the up-front check of the file included.

    python bench/predict_stream.py --lines 100000 1000000
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
CKPT = REPO / "tests" / "fixtures" / "legacy" / "tagger.ckpt"
WORDS = "Maria works for Siemens in Paris and John Smith lives in Berlin on the river".split()


def write_input(path: Path, lines: int) -> None:
    """`lines` sentences of 4 to 14 words (every 100th line blank), written in blocks."""
    with open(path, "w", encoding="utf-8") as f:
        for start in range(0, lines, 10_000):
            f.write("".join("\n" if i % 100 == 99 else " ".join(WORDS[: 4 + i % 11]) + " .\n"
                            for i in range(start, min(lines, start + 10_000))))


def rss_anon(pid: int) -> int | None:
    """Private memory of `pid` in bytes, or None once it has gone."""
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("RssAnon:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        return None
    return None


def run(source: Path, out: Path, batch: int) -> dict:
    """One predict run: wall seconds, peak RssAnon (MB), records written."""
    env = {**os.environ, "PYTHONPATH": str(REPO), "WANDB_MODE": "offline", "HF_DATASETS_OFFLINE": "1"}
    cmd = [sys.executable, "-m", "seqlit", "predict", "--ckpt_path", str(CKPT), "--data.init_args.predict_file",
           str(source), "--predict_output", str(out), "--num_threads", "1",
           "--data.init_args.eval_batch_size", str(batch), "--trainer.logger", "false",
           "--trainer.enable_progress_bar", "false"]
    start, peak = time.perf_counter(), 0
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    while proc.poll() is None:
        peak = max(peak, rss_anon(proc.pid) or 0)
        time.sleep(0.02)
    wall = time.perf_counter() - start
    if proc.returncode != 0:
        raise SystemExit(f"predict failed ({proc.returncode}): {proc.stderr[-2000:]}")
    with open(out, "rb") as f:
        records = sum(1 for _ in f)
    return {"wall_s": wall, "peak_rss_anon_mb": peak / 2**20, "records": records}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lines", type=int, nargs="+", default=[100_000, 1_000_000])
    parser.add_argument("--batch", type=int, default=64, help="data.eval_batch_size")
    args = parser.parse_args()
    print("| input lines | wall s | lines/s | peak RssAnon MB |\n| ---: | ---: | ---: | ---: |")
    with tempfile.TemporaryDirectory(prefix="seqlit-predict-bench-") as tmp:
        for lines in args.lines:
            source, out = Path(tmp) / f"in-{lines}.txt", Path(tmp) / f"out-{lines}.jsonl"  # new: no --overwrite
            write_input(source, lines)
            result = run(source, out, args.batch)
            assert result["records"] == lines, result  # one record per input line, blank lines included
            print(f"| {lines:,} | {result['wall_s']:.1f} | {lines / result['wall_s']:,.0f} | "
                  f"{result['peak_rss_anon_mb']:.0f} |", flush=True)
            source.unlink()
            out.unlink()


if __name__ == "__main__":
    main()
