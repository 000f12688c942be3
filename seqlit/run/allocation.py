"""An allocation that cannot succeed, as one line naming the size it asked for.

Without it, a model too large for the machine is a 100-line jsonargparse traceback; the allocator's own message
holds the size, and `seqlit.cli.main.user_error` asks `allocation_failure` about every exception of the chain
(history: docs/run_plumbing.md).
"""

from __future__ import annotations

import re

CPU = re.compile(r"can't allocate memory: you tried to allocate (\d+) bytes")
CUDA = re.compile(r"out of memory\. Tried to allocate ([\d.]+ [KMGTP]?i?B)")


def human(n: int) -> str:
    size = float(n)
    for unit in ("B", "KB", "MB", "GB"):
        if size < 1000:
            return f"{size:.1f} {unit}"
        size /= 1000
    return f"{size:.1f} TB"


def allocation_failure(chain: list[BaseException]) -> str | None:
    """The one-line message if an exception of `chain` (outermost first) is an allocator's refusal, else None."""
    for err in chain:
        text = str(err)
        cpu, cuda = CPU.search(text), CUDA.search(text)
        if not (cpu or cuda):
            continue
        asked = f"{human(int(cpu.group(1)))} ({int(cpu.group(1)):,} bytes) of CPU memory" if cpu else \
            f"{cuda.group(1)} of GPU memory"
        building = any(isinstance(e, ValueError) and "Union subtypes" in str(e) for e in chain)  # jsonargparse's
        fix = ("building the model from the config: its sizes (backbone.hidden_size, num_layers, embedding_dim, "
               "the vocabulary) ask for more than this machine has; make them smaller") if building else \
            ("running: a batch asks for more than the device has; lower data.init_args.batch_size "
             "(or bptt / the longest input), or use a smaller model")
        return f"out of memory: one allocation of {asked} cannot succeed, while {fix}"
    return None
