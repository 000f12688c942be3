"""Forward+backward throughput of `Recurrent`'s backends, as a markdown table.

Compares, on identical weights and input, torch's fused module, the scratch
loop run eagerly, and the scratch loop through torch.compile.  Ratios are
taken within one run, because absolute numbers on a shared machine drift.
Timed steps are interleaved (one of each backend per round) and the median
is reported, so a burst of load elsewhere hits every backend alike.

The compile column is the first compiled forward+backward, which includes
tracing and inductor's C++ build.  Unless TORCHINDUCTOR_CACHE_DIR is set, the
bench uses a fresh inductor cache so that this is a cold compile.

    python bench/bench_backends.py --kinds gru lstm --sizes 128 256 --repeats 5
"""

import argparse
import os
import platform
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import torch  # noqa: E402

from seqlit.nn import Recurrent  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kinds", nargs="+", default=["gru", "lstm"], choices=["rnn", "gru", "lstm"])
    parser.add_argument("--sizes", nargs="+", type=int, default=[128, 256], help="hidden sizes H (input size = H)")
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--steps", type=int, default=64, help="sequence length T")
    parser.add_argument("--repeats", type=int, default=5, help="timed forward+backward steps per backend")
    parser.add_argument("--no-compile", action="store_true", help="skip the compiled scratch backend")
    parser.add_argument("--threads", type=int, default=torch.get_num_threads(), help="torch intra-op threads")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)

    print(f"command: python {' '.join(sys.argv)}")
    print(f"torch {torch.__version__}, {platform.processor() or platform.machine()}, {args.threads} threads, "
          f"B={args.batch}, T={args.steps}, median of {args.repeats}, load average {os.getloadavg()[0]:.1f}\n")
    header = (
        "| kind | H | fused tok/s | scratch tok/s | compiled tok/s "
        "| scratch / fused time | compiled / fused time | compile s |"
    )
    print(header)
    print("|" + "---|" * (header.count("|") - 1))
    for kind in args.kinds:
        for size in args.sizes:
            print(_row(kind, size, args), flush=True)


def _row(kind: str, size: int, args) -> str:
    torch.manual_seed(0)
    x = torch.randn(args.batch, args.steps, size)
    models = {"fused": Recurrent(size, kind, size)}
    models["scratch"] = Recurrent(size, kind, size, backend="scratch")
    if not args.no_compile:
        torch._dynamo.reset()  # a fresh, static-shape compile for every size
        models["compiled"] = Recurrent(size, kind, size, backend="scratch", compile=True)
    for model in models.values():
        model.load_state_dict(models["fused"].state_dict())

    compile_s = _step(models["compiled"], x) if "compiled" in models else None
    for model in models.values():
        _step(model, x)  # warm-up
    times = {name: [] for name in models}
    for _ in range(args.repeats):
        for name, model in models.items():
            times[name].append(_step(model, x))
    median = {name: statistics.median(t) for name, t in times.items()}

    tokens = args.batch * args.steps
    rate = {name: f"{tokens / t:,.0f}" for name, t in median.items()}
    ratio = {name: f"{t / median['fused']:.2f}x" for name, t in median.items()}
    cells = [kind, size, rate["fused"], rate["scratch"], rate.get("compiled", "-"), ratio["scratch"],
             ratio.get("compiled", "-"), "-" if compile_s is None else f"{compile_s:.0f}"]
    return "| " + " | ".join(str(c) for c in cells) + " |"


def _step(model: Recurrent, x: torch.Tensor) -> float:
    """Seconds for one forward+backward."""
    model.zero_grad(set_to_none=True)
    start = time.perf_counter()
    outputs, _ = model(x)
    outputs.sum().backward()
    return time.perf_counter() - start


if __name__ == "__main__":
    if "TORCHINDUCTOR_CACHE_DIR" not in os.environ:
        cache = tempfile.mkdtemp(prefix="bench_inductor_")
        os.environ["TORCHINDUCTOR_CACHE_DIR"] = cache
        try:
            main()
        finally:
            shutil.rmtree(cache, ignore_errors=True)
    else:
        main()
