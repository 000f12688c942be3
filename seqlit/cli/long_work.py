"""Long work shows itself: a very long predict line and a huge training window get a note with their size and
rough cost, and are refused where the estimate exceeds the device's memory (`--check_memory false` lifts it).

Both are legitimate, so below the memory they only get a note. The estimate is rough on purpose (activations
per token of the recurrent and output layers, three times over when training); docs/run_plumbing.md.
"""

from __future__ import annotations

import os
import sys

import torch
from torch import nn

from seqlit.run.allocation import human
from seqlit.errors import SeqlitError

NOTE_CHARS = 100_000  # a predict line longer than this gets a note
NOTE_WINDOW = 4096  # a training window (bptt) longer than this gets one
GATES = {nn.LSTM: 4, nn.GRU: 3, nn.RNN: 1}
LIFT = "--check_memory false runs it anyway"


def bytes_per_token(model: nn.Module, training: bool) -> int:
    floats = 0
    for layer in model.modules():
        if isinstance(layer, nn.RNNBase):
            floats += GATES.get(type(layer), 4) * layer.hidden_size * (2 if layer.bidirectional else 1) * layer.num_layers
    floats += max((m.out_features for m in model.modules() if isinstance(m, nn.Linear)), default=0)
    return 4 * floats * (3 if training else 1)


def device_memory(device: torch.device) -> int | None:
    """Bytes the device has: the GPU's total, or the machine's physical memory."""
    if device.type == "cuda":
        return torch.cuda.get_device_properties(device).total_memory
    try:
        return os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError):
        return None


def longest_line(path: str) -> tuple[int, int]:
    """(1-based line number, characters) of the longest line of a local text file."""
    best, best_at = 0, 0
    with open(path, encoding="utf-8", errors="replace") as f:
        for n, line in enumerate(f, 1):
            length = len(line.rstrip("\n"))
            if length > best:
                best, best_at = length, n
    return best_at, best


def check_predict_file(path: str | None, model: nn.Module, device: torch.device, check_memory: bool) -> None:
    if not path or "://" in path or not os.path.isfile(path) or path.endswith(".jsonl"):
        return
    at, chars = longest_line(path)
    if chars <= NOTE_CHARS:
        return
    need, have = chars * bytes_per_token(model, training=False), device_memory(device)
    what = (f"line {at} of {path} holds {chars:,} characters, read as one sequence (one recurrent step per token, "
            f"roughly {human(need)} at most)")
    if check_memory and have is not None and need > have:
        raise SeqlitError(f"predict: {what}, more than the {human(have)} this device has: split it into sentences "
                          f"or paragraphs, one per line; {LIFT}")
    print(f"[seqlit] predict: {what}: expect it to take a while", file=sys.stderr, flush=True)


def check_window(datamodule, model: nn.Module, device: torch.device, check_memory: bool) -> None:
    bptt, batch = getattr(datamodule, "bptt", None), getattr(datamodule, "batch_size", None)
    if not isinstance(bptt, int) or not isinstance(batch, int) or bptt <= NOTE_WINDOW:
        return
    need, have = bptt * batch * bytes_per_token(model, training=True), device_memory(device)
    what = (f"data.bptt {bptt:,}: each training step back-propagates through {bptt:,} time steps of {batch} streams "
            f"({bptt * batch:,} tokens, roughly {human(need)} of activations), one long step after another")
    if check_memory and have is not None and need > have:
        raise SeqlitError(f"{what}, more than the {human(have)} this device has: lower --data.init_args.bptt "
                          f"(64 to 512 is usual) or --data.init_args.batch_size; {LIFT}")
    print(f"[seqlit] {what}", file=sys.stderr, flush=True)
