"""Generation speed: tokens/s of `seqlit.generation.sample` (cached state) vs `sample_rerun` (re-reads the prefix).

With the recurrent state cached, each new token costs one step; re-running
the prefix costs a step per token already there, so the gap grows with the
prompt and the output. Both paths draw from the same seed and must produce
the same tokens (checked here too). The model is the quickstart's character
GRU shape with random weights: speed does not depend on what it has learned.
Repeats are interleaved and the median reported, so load elsewhere hits both.

    python bench/generation_speed.py --prompt 100 --tokens 200 --repeats 3
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import torch  # noqa: E402

from seqlit.generation import sample, sample_rerun  # noqa: E402
from seqlit.tasks import LanguageModel  # noqa: E402


def timed(fn, model, prompt, args) -> tuple[float, list[int]]:
    start = time.perf_counter()
    ids = fn(model, prompt, args.tokens, temperature=0.8, seed=0)
    if args.device == "cuda":
        torch.cuda.synchronize()
    return time.perf_counter() - start, ids


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kind", default="gru", choices=["rnn", "gru", "lstm"])
    parser.add_argument("--vocab", type=int, default=100, help="vocabulary size (characters: ~100)")
    parser.add_argument("--embedding", type=int, default=64)
    parser.add_argument("--hidden", type=int, default=384)
    parser.add_argument("--layers", type=int, default=1)
    parser.add_argument("--prompt", type=int, default=100, help="prompt length in tokens")
    parser.add_argument("--tokens", type=int, default=200, help="tokens to generate")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--threads", type=int, default=torch.get_num_threads(),
                        help="torch CPU threads (1 is steadiest on a shared machine)")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)

    torch.manual_seed(0)
    spec = {"vocab_size": args.vocab, "pad_id": 0, "level": "char"}
    backbone = {"kind": args.kind, "hidden_size": args.hidden, "num_layers": args.layers}
    model = LanguageModel(spec, backbone=backbone, embedding_dim=args.embedding, dropout=0.0, embedding_dropout=0.0).to(args.device).eval()
    prompt = torch.randint(1, args.vocab, (args.prompt,)).tolist()
    print(f"command: python {' '.join(sys.argv)}")
    print(f"torch {torch.__version__}, {args.device}, {torch.get_num_threads()} threads, {args.kind} "
          f"V{args.vocab} E{args.embedding} H{args.hidden} x{args.layers}, prompt {args.prompt}, "
          f"{args.tokens} new tokens, median of {args.repeats}, load average {os.getloadavg()[0]:.1f}\n")
    timed(sample, model, prompt, args)  # warm-up: first-call allocations and kernel selection
    cached, rerun = [], []
    for r in range(args.repeats):
        order = [(sample, cached), (sample_rerun, rerun)]
        for fn, times in order if r % 2 == 0 else reversed(order):
            seconds, ids = timed(fn, model, prompt, args)
            times.append(seconds)
            if fn is sample:
                reference = ids
            elif ids != reference:
                raise SystemExit("cached and re-run sampling produced different tokens")
    c, s = statistics.median(cached), statistics.median(rerun)
    print("| path | tokens/s | ms/token |")
    print("|---|---:|---:|")
    print(f"| cached state (`sample`) | {args.tokens / c:,.0f} | {1000 * c / args.tokens:.2f} |")
    print(f"| re-run prefix (`sample_rerun`) | {args.tokens / s:,.0f} | {1000 * s / args.tokens:.2f} |")
    print(f"\ncached is {s / c:.1f}x faster; same tokens: yes")


if __name__ == "__main__":
    main()
