"""What a lent GPU should answer first: does cuDNN compute our cells, does bf16 hold, how fast is an LM step.

Needs only torch, pytorch-lightning and torchmetrics (what the lent machines
have preinstalled), not the data stack, so it runs on a bare device:

1. cuDNN path: `Recurrent(backend="fused")` against the scratch cells on the
   device, every kind, one and two directions, padded batch, float32:
   largest difference in outputs and in parameter gradients. Weight dropout
   too: the same seed must drop the same Waa entries on both paths.
2. bf16: an LM's loss and gradient norm under `torch.autocast(bfloat16)`
   against float32 on the same batch.
3. Throughput: training tokens/s of a bare LM step (forward, loss, backward,
   fused AdamW), float32 and bf16, for pytorch/examples' 2 x 650 tied LSTM
   (../shared/ANCHORS.md lists its tokens/s) and configs/lm/wikitext2_awd_lstm.yaml's shape.

    python bench/gpu_checks.py --out gpu_checks.json            # on the GPU machine
    python bench/gpu_checks.py --device cpu --quick              # a smoke run of the script itself

bf16 runs on CUDA only: oneDNN's CPU RNN kernels need AVX512-BF16 or AMX,
which the project's CPU machines lack (its LSTM primitive refuses bf16).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from seqlit.nn import Recurrent  # noqa: E402
from seqlit.tasks import LanguageModel  # noqa: E402
from seqlit.nn.backbone import map_state  # noqa: E402

# name: (vocab, embedding, hidden, layers, batch, bptt, weight dropout); tied, full softmax
SHAPES = {"examples-2x650-tied": (33278, 650, 650, 2, 20, 35, 0.0),
          "awd-lstm-3x1150": (33278, 400, 1150, 3, 80, 70, 0.5)}
QUICK_SHAPES = {"tiny": (500, 16, 32, 2, 4, 8, 0.5)}


def fused_vs_scratch(device: str, hidden: int) -> list[dict]:
    rows = []
    torch.manual_seed(0)
    x = torch.randn(6, 13, 24, device=device)
    lengths = torch.tensor([13, 1, 7, 13, 4, 9])
    for kind in ("rnn", "gru", "lstm"):
        for bidirectional in (False, True):
            for weight_dropout in (0.0, 0.3):
                results = []
                for backend in ("fused", "scratch"):
                    torch.manual_seed(0)
                    model = Recurrent(24, kind, hidden, num_layers=2, bidirectional=bidirectional,
                                      weight_dropout=weight_dropout, backend=backend).to(device).train()
                    torch.manual_seed(1)
                    out, _ = model(x, lengths)
                    out.square().sum().backward()
                    results.append((out, [p.grad for p in model.parameters()]))
                (a, grads_a), (b, grads_b) = results
                rows.append({"kind": kind, "bidirectional": bidirectional, "weight_dropout": weight_dropout,
                             "max_output_diff": (a - b).abs().max().item(),
                             "max_grad_diff": max((g - h).abs().max().item() for g, h in zip(grads_a, grads_b))})
    return rows


def make_model(shape, device: str) -> LanguageModel:
    vocab, embedding, hidden, layers, _, _, weight_dropout = shape
    torch.manual_seed(0)
    backbone = {"kind": "lstm", "hidden_size": hidden, "num_layers": layers, "dropout": 0.4,
                "weight_dropout": weight_dropout}
    return LanguageModel({"vocab_size": vocab, "pad_id": 0, "level": "word"}, backbone=backbone,
                         embedding_dim=embedding, dropout=0.4, embedding_dropout=0.1, tie_weights=True).to(device)


def batch(shape, device: str, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    vocab, *_, size, bptt, _ = shape
    zipf = 1.0 / torch.arange(1, vocab + 1, dtype=torch.float)  # word frequencies follow Zipf's law
    g = torch.Generator().manual_seed(seed)
    draw = torch.multinomial(zipf, size * (bptt + 1), replacement=True, generator=g).view(size, bptt + 1).to(device)
    return draw[:, :-1], draw[:, 1:]


def loss_and_grad_norm(model, inputs, targets, bf16: bool) -> tuple[float, float]:
    model.zero_grad()
    torch.manual_seed(2)
    with torch.autocast(inputs.device.type, dtype=torch.bfloat16, enabled=bf16):
        features, _ = model.features(inputs)
        loss = model.token_nll(features, targets) / targets.numel()
    loss.backward()
    norm = torch.linalg.vector_norm(torch.stack([p.grad.norm() for p in model.parameters() if p.grad is not None]))
    return loss.item(), norm.item()


def tokens_per_second(model, inputs, targets, bf16: bool, steps: int, warmup: int) -> float:
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-3, fused=True)
    state = None
    synchronize = torch.cuda.synchronize if inputs.is_cuda else (lambda: None)
    for i in range(warmup + steps):
        if i == warmup:
            synchronize()
            start = time.perf_counter()
        with torch.autocast(inputs.device.type, dtype=torch.bfloat16, enabled=bf16):
            features, state = model.features(inputs, state)
            loss = model.token_nll(features, targets) / targets.numel()
        state = map_state(state, torch.Tensor.detach)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    synchronize()
    return targets.numel() * steps / (time.perf_counter() - start)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--device", default="cuda")
    p.add_argument("--quick", action="store_true", help="tiny sizes and few steps: checks the script, not the GPU")
    p.add_argument("--steps", type=int, default=30)
    p.add_argument("--out", help="also write the results here as JSON")
    args = p.parse_args()
    if args.steps < 1:
        sys.exit(f"gpu_checks: --steps must be at least 1, got {args.steps}")
    if args.device == "cuda" and not torch.cuda.is_available():
        sys.exit("gpu_checks: no CUDA device here; pass --device cpu --quick to smoke-test the script")
    shapes = QUICK_SHAPES if args.quick else SHAPES
    steps, warmup = (2, 1) if args.quick else (args.steps, 5)
    report = {"torch": torch.__version__, "device": torch.cuda.get_device_name() if args.device == "cuda" else "cpu",
              "cudnn": torch.backends.cudnn.version() if args.device == "cuda" else None}
    report["fused_vs_scratch"] = fused_vs_scratch(args.device, 8 if args.quick else 256)
    worst = max(max(r["max_output_diff"], r["max_grad_diff"]) for r in report["fused_vs_scratch"])
    print(f"{report['device']}, torch {report['torch']}, cuDNN {report['cudnn']}\n"
          f"fused vs scratch, float32, {len(report['fused_vs_scratch'])} cases: largest difference {worst:.2e}")
    report["shapes"] = {}
    print("| shape | fp32 loss | bf16 loss | fp32 grad norm | bf16 grad norm | fp32 tokens/s | bf16 tokens/s |\n"
          "|---|---:|---:|---:|---:|---:|---:|")
    precisions = ("fp32", "bf16") if args.device == "cuda" else ("fp32",)
    for name, shape in shapes.items():
        model = make_model(shape, args.device).train()
        inputs, targets = batch(shape, args.device)
        row = {}
        for precision in precisions:
            loss, norm = loss_and_grad_norm(model, inputs, targets, precision == "bf16")
            speed = tokens_per_second(model, inputs, targets, precision == "bf16", steps, warmup)
            row[precision] = {"loss": loss, "grad_norm": norm, "tokens_per_s": speed}
        report["shapes"][name] = row
        cell = lambda p, key, fmt: format(row[p][key], fmt) if p in row else "—"  # noqa: E731
        print(f"| {name} | {cell('fp32', 'loss', '.4f')} | {cell('bf16', 'loss', '.4f')} | "
              f"{cell('fp32', 'grad_norm', '.3f')} | {cell('bf16', 'grad_norm', '.3f')} | "
              f"{cell('fp32', 'tokens_per_s', ',.0f')} | {cell('bf16', 'tokens_per_s', ',.0f')} |", flush=True)
    if args.out:
        Path(args.out).write_text(json.dumps(report, indent=2), encoding="utf-8")


if __name__ == "__main__":
    main()
