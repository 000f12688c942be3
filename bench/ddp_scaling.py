"""DDP scaling on CPU: training throughput of 1 vs 2 processes (Lightning DDP, gloo) on the same global batch.

Each side is a real `python -m seqlit fit` run (the SST-2 BiGRU classifier of
configs/sentiment/sst2_bigru.yaml, on ../shared/data/sst2): 1 process with
batch B, then 2 processes (`--trainer.strategy ddp --trainer.devices 2`) with
batch B/2 each, so every optimizer step sees B sentences either way. Each
process gets `--threads` intra-op threads (default 1: two processes on the
2-core machine use both cores, one process uses one). Validation, logging
and the progress bar are off; a checkpoint is written only after the timed
steps.

Timing: a callback stamps the end of every optimizer step on rank 0 (DDP
steps are in lockstep: every rank waits for the gradient all-reduce). The
first `--warmup` steps are left out; throughput is the real (unpadded)
tokens all ranks trained on in the remaining steps, over their wall time.

    scaling efficiency = (2-process tokens/s) / (2 x 1-process tokens/s)

1.0 would be perfect scaling; on 2 cores, gloo's all-reduce of every
gradient and anything else running on the machine both show up in it.
Runs alternate 1, 2, 1, 2 … for `--repeats` pairs; the medians are reported.

    python bench/ddp_scaling.py --steps 60 --warmup 10 --global-batch 64 --repeats 3

Quick check that it runs (numbers meaningless): `python bench/ddp_scaling.py --steps 4 --warmup 1 --repeats 1`.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
BENCH = Path(__file__).resolve().parent
OUT_ENV = "SEQLIT_DDP_SCALING_OUT"  # where the callback writes its figures (set by this script)
WARMUP_ENV = "SEQLIT_DDP_SCALING_WARMUP"  # untimed steps (set by this script)

try:  # the callback runs inside the seqlit processes, which import this file as `ddp_scaling`
    import pytorch_lightning as pl
except ImportError:  # pragma: no cover
    pl = None

if pl is not None:
    class StepClock(pl.Callback):
        """Stamp every optimizer step's end; at the end of training, total the tokens of all ranks."""

        def __init__(self):
            self.warmup = int(os.environ.get(WARMUP_ENV, "1"))
            self.stamps: list[float] = []
            self.tokens: list[int] = []

        def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx) -> None:
            from seqlit.callbacks.throughput import batch_tokens

            self.stamps.append(time.perf_counter())
            self.tokens.append(batch_tokens(batch))

        def on_train_end(self, trainer, pl_module) -> None:
            import torch

            if len(self.stamps) <= self.warmup:
                raise RuntimeError(f"{len(self.stamps)} steps ran, not more than --warmup {self.warmup}")
            tokens = torch.tensor(float(sum(self.tokens[self.warmup:])))
            tokens = trainer.strategy.reduce(tokens, reduce_op="sum")  # every rank's tokens
            if trainer.is_global_zero:
                timed = self.stamps[self.warmup - 1:]  # the end of the last untimed step starts the clock
                seconds = timed[-1] - timed[0]
                record = {"processes": trainer.world_size, "steps": len(timed) - 1, "seconds": seconds,
                          "tokens": float(tokens), "tokens_per_s": float(tokens) / seconds,
                          "step_s_median": statistics.median(b - a for a, b in zip(timed, timed[1:]))}
                Path(os.environ[OUT_ENV]).write_text(json.dumps(record))


def run(processes: int, args: argparse.Namespace, work: Path) -> dict:
    """One `seqlit fit` with `processes` processes; returns the callback's record."""
    out = work / f"clock-{processes}-{time.time_ns()}.json"
    per_process = args.global_batch // processes
    cmd = [sys.executable, "-m", "seqlit", "fit", "--config", str(args.config),
           "--data.init_args.path", args.data, "--data.init_args.batch_size", str(per_process),
           "--trainer.max_steps", str(args.steps + args.warmup), "--trainer.max_epochs", "-1", "--trainer.max_time", "null",
           "--trainer.limit_val_batches", "0", "--trainer.num_sanity_val_steps", "0",
           "--trainer.enable_progress_bar", "false", "--trainer.enable_model_summary", "false",
           "--trainer.logger", "false", "--trainer.default_root_dir", str(work / f"run-{processes}"),
           "--trainer.callbacks+=ddp_scaling.StepClock",
           "--test_after_fit", "false", "--num_threads", str(args.threads), "--seed_everything", "0",
           "--trainer.accelerator", "cpu", *args.extra]
    if processes > 1:
        cmd += ["--trainer.devices", str(processes), "--trainer.strategy", "ddp"]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(REPO), str(BENCH), os.environ.get("PYTHONPATH", "")]),
           OUT_ENV: str(out), WARMUP_ENV: str(args.warmup), "OMP_NUM_THREADS": str(args.threads), "WANDB_MODE": "disabled",
           "HF_DATASETS_OFFLINE": "1", "HF_HUB_OFFLINE": "1"}
    done = subprocess.run(cmd, cwd=REPO, env=env, capture_output=True, text=True)
    if done.returncode != 0 or not out.is_file():
        sys.exit(f"{processes}-process run failed ({done.returncode}):\n{' '.join(cmd)}\n{done.stderr[-4000:]}")
    return json.loads(out.read_text())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--config", type=Path, default=REPO / "configs" / "sentiment" / "sst2_bigru.yaml")
    parser.add_argument("--data", default=str(REPO.parent / "shared" / "data" / "sst2"), help="data.init_args.path")
    parser.add_argument("--global-batch", type=int, default=64, help="sentences per optimizer step, all processes together")
    parser.add_argument("--steps", type=int, default=60, help="timed optimizer steps per run")
    parser.add_argument("--warmup", type=int, default=10, help="untimed optimizer steps first (at least 1)")
    parser.add_argument("--repeats", type=int, default=3, help="pairs of (1-process, 2-process) runs")
    parser.add_argument("--threads", type=int, default=1, help="intra-op threads per process")
    parser.add_argument("extra", nargs="*", help="more `seqlit fit` arguments, after `--`")
    args = parser.parse_args()
    if args.global_batch % 2:
        parser.error("--global-batch must be even (two processes share it)")
    if args.warmup < 1 or args.steps < 1:
        parser.error("--warmup and --steps must be at least 1 (the first step's end starts the clock)")

    figures: dict[int, list[dict]] = {1: [], 2: []}
    with tempfile.TemporaryDirectory(prefix="ddp-scaling-") as tmp:
        for repeat in range(args.repeats):
            for processes in (1, 2):
                record = run(processes, args, Path(tmp))
                figures[processes].append(record)
                print(f"repeat {repeat + 1}/{args.repeats}, {processes} process(es): {record['tokens_per_s']:,.0f} tokens/s "
                      f"({record['steps']} steps in {record['seconds']:.1f} s)", flush=True)
    one = statistics.median(r["tokens_per_s"] for r in figures[1])
    two = statistics.median(r["tokens_per_s"] for r in figures[2])
    print(f"\nglobal batch {args.global_batch} sentences, {args.steps} timed steps after {args.warmup}, "
          f"{args.threads} thread(s) per process, median of {args.repeats}")
    print(f"1 process : {one:,.0f} tokens/s")
    print(f"2 processes: {two:,.0f} tokens/s")
    print(f"scaling efficiency = {two:,.0f} / (2 x {one:,.0f}) = {two / (2 * one):.2f}")


if __name__ == "__main__":
    main()
