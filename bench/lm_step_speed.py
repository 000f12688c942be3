"""Tokens/s of a bare language-model training step, for choosing sizes, batch shapes and threads.

One step is what `LanguageModel` does per batch without Lightning around it:
forward with the carried state, loss (adaptive softmax when the vocabulary is
large), backward, fused AdamW step. Targets are drawn from a Zipf law
(P(rank r) ∝ 1/r), because the adaptive softmax's cost depends on how many
targets fall in its tail clusters: uniform targets would put most of them in
the rarest cluster and time a model nobody trains. Each shape is one line:

    vocab,embedding,hidden,layers,batch,bptt,threads

    python bench/lm_step_speed.py 33278,256,256,1,32,70,1 33278,256,256,1,32,70,2 33278,256,256,1,20,35,2

`--profile` also prints where the time of each shape goes (torch.profiler,
the operators with the most time of their own). An optional eighth field, 1,
embeds with the adaptive input (`model.adaptive_input`) instead of a full table:

    python bench/lm_step_speed.py 33278,256,256,1,20,35,2 33278,256,256,1,20,35,2,1

`--weight-dropout 0 0.5` times every shape at each weight-dropout rate
(DropConnect on the recurrent matrices, `model.weight_dropout`), one after
the other, so its cost is read as a ratio within one run.
"""

from __future__ import annotations

import argparse
import contextlib
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import torch  # noqa: E402

from seqlit.tasks import LanguageModel  # noqa: E402
from seqlit.tasks.language_model import detach_state  # noqa: E402


def tokens_per_second(vocab: int, embedding: int, hidden: int, layers: int, batch: int, bptt: int,
                      threads: int, steps: int, warmup: int, profile: bool = False,
                      adaptive_input: bool = False, weight_dropout: float = 0.0) -> float:
    torch.set_num_threads(threads)
    torch.manual_seed(0)
    cutoffs = [1000, 5000] if vocab > 5000 else None
    backbone = {"kind": "lstm", "hidden_size": hidden, "num_layers": layers, "dropout": 0.1,
                "weight_dropout": weight_dropout}
    model = LanguageModel({"vocab_size": vocab, "pad_id": 0, "level": "word"}, backbone=backbone,
                          embedding_dim=embedding, dropout=0.1, embedding_dropout=0.0,
                          adaptive_cutoffs=cutoffs, adaptive_input=adaptive_input and cutoffs is not None)
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-3, fused=True)
    zipf = 1.0 / torch.arange(1, vocab + 1, dtype=torch.float)
    draw = lambda: torch.multinomial(zipf, batch * bptt, replacement=True).view(batch, bptt)  # noqa: E731
    inputs, targets = draw(), draw()
    state = None

    def step():
        nonlocal state
        features, state = model.features(inputs, state)
        state = detach_state(state)
        loss = model.token_nll(features, targets) / targets.numel()
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()

    for _ in range(warmup):
        step()
    with torch.profiler.profile() if profile else contextlib.nullcontext() as profiler:
        start = time.perf_counter()
        for _ in range(steps):
            step()
        seconds = time.perf_counter() - start
    if profile:
        print(profiler.key_averages().table(sort_by="self_cpu_time_total", row_limit=8))
    return batch * bptt * steps / seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("shapes", nargs="+", help="vocab,embedding,hidden,layers,batch,bptt,threads[,adaptive_input]")
    parser.add_argument("--steps", type=int, default=12)
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--profile", action="store_true", help="print each shape's top operators")
    parser.add_argument("--weight-dropout", type=float, nargs="+", default=[0.0],
                        help="time each shape at each of these weight-dropout rates")
    args = parser.parse_args()
    print(f"torch {torch.__version__}; {args.steps} timed steps after {args.warmup}")
    print("| vocab | embedding | hidden | layers | batch × bptt | threads | input | weight dropout | tokens/s |\n"
          "|---:|---:|---:|---:|---|---:|---|---:|---:|")
    for shape in args.shapes:
        vocab, embedding, hidden, layers, batch, bptt, threads, *rest = (int(x) for x in shape.split(","))
        adaptive = bool(rest and rest[0])
        for rate in args.weight_dropout:
            speed = tokens_per_second(vocab, embedding, hidden, layers, batch, bptt, threads, args.steps,
                                      args.warmup, args.profile, adaptive, rate)
            print(f"| {vocab} | {embedding} | {hidden} | {layers} | {batch} × {bptt} | {threads} | "
                  f"{'adaptive' if adaptive else 'table'} | {rate:g} | {speed:,.0f} |", flush=True)


if __name__ == "__main__":
    main()
