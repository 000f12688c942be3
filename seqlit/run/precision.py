"""A precision the hardware cannot run is found before the first step, with one line saying what to use instead.

Each kind of fused layer the model holds is probed with a tiny forward in that precision on the run's device,
before the trainer starts: otherwise, e.g. bf16 on a CPU without bf16 oneDNN kernels, the LSTM fails with a
traceback at the first step, after the data was read and the run folder made (docs/run_plumbing.md).
"""

from __future__ import annotations

import platform

import torch
from torch import nn

from seqlit.errors import SeqlitError


def cpu_name() -> str:
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def probe(layer: nn.RNNBase, precision: str, device: torch.device) -> str | None:
    """Why a tiny layer like `layer` cannot run a forward and backward in `precision` on `device`, or None."""
    tiny = type(layer)(4, 4, num_layers=1, batch_first=True, bidirectional=layer.bidirectional).to(device)
    x = torch.randn(2, 3, 4, device=device, requires_grad=True)
    try:
        if precision.startswith("bf16-true"):
            out = tiny.to(torch.bfloat16)(x.to(torch.bfloat16))[0]
        else:
            with torch.autocast(device.type, dtype=torch.bfloat16):
                out = tiny(x)[0]
        out.float().sum().backward()
    except RuntimeError as err:
        return " ".join(str(err).split())[:200]
    return None


def check_precision(precision: str, model: nn.Module, device: torch.device) -> None:
    """One line if the model's fused recurrent layers cannot run in `precision` (a bf16 one) on `device`."""
    if "bf16" not in str(precision):
        return
    tried: set[tuple[type, bool]] = set()
    for layer in model.modules():
        key = (type(layer), getattr(layer, "bidirectional", False))
        if not isinstance(layer, nn.RNNBase) or key in tried:
            continue
        tried.add(key)
        why = probe(layer, str(precision), device)
        if why is not None:
            where = f"cpu: {cpu_name()}" if device.type == "cpu" else str(device)
            raise SeqlitError(
                f"trainer.precision {precision} cannot run on this device ({where}): its {type(layer).__name__} "
                f"kernels fail in bfloat16 ({why}); use --trainer.precision 32-true here (bf16 needs a GPU, or a "
                "CPU with bf16 oneDNN kernels: AVX512-BF16 or AMX), or a backbone with backend scratch")
