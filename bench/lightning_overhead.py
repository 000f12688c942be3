"""Lightning overhead: seqlit's LanguageModel trained by `Trainer.fit` vs a hand-written PyTorch loop.

Same model (identical initial weights), same batches through the same
DataLoader, same optimizer (the model's AdamW), same gradient clipping, and
the same stateful truncated BPTT (hidden state carried and detached). The
Lightning side runs seqlit's own `training_step` (metric update and logging
included) with checkpointing, logging and progress bars off, as a benchmark
entry's steps would run apart from them.

Each step is timed from the start of one batch to the start of the next
(loading, hooks, forward, backward, clipping, optimizer: all of it), after
`warmup` untimed steps, so one-off set-up (Trainer construction, first-call
kernel selection) is left out of both. On a shared machine a burst of load
elsewhere lands on a few steps; medians of step times shrug those off where
totals do not. Pairs of runs alternate which side goes first, all in one
process; the ratio is the median Lightning step over the median raw step,
pooled over all pairs. Goal: Lightning / raw <= 1.03.

    python bench/lightning_overhead.py --vocab 10000 --embedding 256 --hidden 512 --batch 32 --bptt 64
"""

from __future__ import annotations

import argparse
import copy
import logging
import os
import statistics
import sys
import time
import warnings
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import pytorch_lightning as pl  # noqa: E402
import torch  # noqa: E402
from torch.utils.data import DataLoader  # noqa: E402

from seqlit.tasks import LanguageModel  # noqa: E402
from seqlit.tasks.language_model import detach_state  # noqa: E402


def sync(device: str) -> None:
    if device == "cuda":
        torch.cuda.synchronize()


class StepTimer(pl.Callback):
    """perf_counter at the start of every batch, and at the end of the last."""

    def __init__(self, device: str):
        self.device, self.stamps = device, []

    def on_train_batch_start(self, trainer, pl_module, batch, batch_idx):
        sync(self.device)
        self.stamps.append(time.perf_counter())

    def on_train_end(self, trainer, pl_module):
        sync(self.device)
        self.stamps.append(time.perf_counter())


def step_seconds(stamps: list[float], warmup: int) -> list[float]:
    return [b - a for a, b in zip(stamps, stamps[1:])][warmup:]


def lightning_steps(model: LanguageModel, loader: DataLoader, args) -> list[float]:
    timer = StepTimer(args.device)
    trainer = pl.Trainer(accelerator=args.device, devices=1, max_steps=len(loader), precision=args.precision,
                         gradient_clip_val=1.0, logger=False, enable_checkpointing=False,
                         enable_progress_bar=False, enable_model_summary=False, limit_val_batches=0,
                         num_sanity_val_steps=0, callbacks=[timer])
    trainer.fit(model, train_dataloaders=loader)
    return step_seconds(timer.stamps, args.warmup)


def raw_steps(model: LanguageModel, loader: DataLoader, args) -> list[float]:
    """The loop a user would write by hand for the same model."""
    model.to(args.device).train()
    optimizer = model.configure_optimizers()
    autocast = torch.autocast(args.device, dtype=torch.bfloat16, enabled=args.precision == "bf16-mixed")
    state, stamps = None, []
    for batch in loader:
        sync(args.device)
        stamps.append(time.perf_counter())
        input_ids, targets = batch["input_ids"].to(args.device), batch["targets"].to(args.device)
        with autocast:
            features, state = model.features(input_ids, state)
            loss = model.token_nll(features, targets) / targets.numel()
        state = detach_state(state)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
    sync(args.device)
    stamps.append(time.perf_counter())
    return step_seconds(stamps, args.warmup)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kind", default="gru", choices=["rnn", "gru", "lstm"])
    parser.add_argument("--vocab", type=int, default=10000)
    parser.add_argument("--embedding", type=int, default=256)
    parser.add_argument("--hidden", type=int, default=512)
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--bptt", type=int, default=64)
    parser.add_argument("--steps", type=int, default=20, help="timed steps per run")
    parser.add_argument("--warmup", type=int, default=3, help="untimed steps at the start of each run")
    parser.add_argument("--pairs", type=int, default=3, help="(raw, Lightning) pairs, alternating order")
    parser.add_argument("--device", default="cpu", choices=["cpu", "cuda"])
    parser.add_argument("--precision", default="32-true", choices=["32-true", "bf16-mixed"])
    parser.add_argument("--threads", type=int, default=torch.get_num_threads(),
                        help="torch CPU threads (1 is steadiest on a shared machine)")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    logging.getLogger("pytorch_lightning").setLevel(logging.ERROR)  # keep the table readable:
    warnings.filterwarnings("ignore", module="pytorch_lightning")    # no set-up chatter between its rows

    torch.manual_seed(0)
    spec = {"vocab_size": args.vocab, "pad_id": 0, "level": "word"}
    initial = LanguageModel(spec, backbone={"kind": args.kind, "hidden_size": args.hidden, "num_layers": 1},
                            embedding_dim=args.embedding, dropout=0.0, embedding_dropout=0.0)
    n = args.warmup + args.steps
    stream = torch.randint(0, args.vocab, (args.batch, n * args.bptt + 1))
    batches = [{"input_ids": stream[:, i * args.bptt:(i + 1) * args.bptt],
                "targets": stream[:, i * args.bptt + 1:(i + 1) * args.bptt + 1]} for i in range(n)]
    loader = DataLoader(batches, batch_size=None)
    tokens = args.batch * args.bptt  # per step

    print(f"command: python {' '.join(sys.argv)}")
    print(f"torch {torch.__version__}, pytorch-lightning {pl.__version__}, {args.device} ({args.precision}), "
          f"{torch.get_num_threads()} threads; {args.kind} LM V{args.vocab} E{args.embedding} H{args.hidden} "
          f"B{args.batch} T{args.bptt}; {args.steps} timed steps after {args.warmup}; "
          f"load average {os.getloadavg()[0]:.1f}\n")
    print("| pair | raw loop tok/s | Lightning tok/s | Lightning / raw step time |")
    print("|---:|---:|---:|---:|")
    steps: dict[str, list[float]] = {"raw": [], "lightning": []}
    for pair in range(args.pairs):
        runs = {"raw": raw_steps, "lightning": lightning_steps}
        order = ["raw", "lightning"] if pair % 2 == 0 else ["lightning", "raw"]
        medians = {}
        for name in order:
            times = runs[name](copy.deepcopy(initial), loader, args)
            steps[name] += times
            medians[name] = statistics.median(times)
        print(f"| {pair + 1} | {tokens / medians['raw']:,.0f} | {tokens / medians['lightning']:,.0f} "
              f"| {medians['lightning'] / medians['raw']:.3f} |", flush=True)
    raw, lit = statistics.median(steps["raw"]), statistics.median(steps["lightning"])
    print(f"\nmedian step: raw {1000 * raw:.1f} ms, Lightning {1000 * lit:.1f} ms "
          f"({len(steps['raw'])} steps each); Lightning / raw: {lit / raw:.3f}")


if __name__ == "__main__":
    main()
