"""Build the README's agreement figure and table from `bench/agreement_sweep.sh` output.

    python docs/make_agreement_figure.py [bench/out/agreement]

Left: test accuracy against the distractor length L for each cell.
Right: ‖∂L/∂a<t>‖ against t at L = 50 at initialisation (step 0) for the
plain RNN and the GRU, as recorded by the GradientFlow callback.
Writes docs/figures/agreement.png and prints a markdown table.
"""

from __future__ import annotations

import csv
import glob
import os
import sys

import torch

from matplotlib.figure import Figure

from seqlit.plots import gradient_flow_figure

CELLS = ("rnn", "gru", "lstm")
LENGTHS = (5, 10, 25, 50, 100)


def test_metrics(run: str) -> dict[str, float]:
    found = glob.glob(os.path.join(run, "**", "metrics.csv"), recursive=True)
    rows = list(csv.DictReader(open(found[0]))) if found else []
    out = {k: float(v) for row in rows for k, v in row.items() if v and k.startswith(("test/", "val/acc", "epoch"))}
    out["best_val_acc"] = max((float(r["val/acc"]) for r in rows if r.get("val/acc")), default=float("nan"))
    return out


def flow(run: str, step: int = 0):
    found = sorted(glob.glob(os.path.join(run, "**", "gradient_flow", f"step_{step:06d}.pt"), recursive=True))
    return torch.load(found[0], weights_only=True)["norms"] if found else None


def main(root: str) -> None:
    results = {(c, L): test_metrics(f"{root}/{c}-L{L}") for c in CELLS for L in LENGTHS if os.path.isdir(f"{root}/{c}-L{L}")}
    fig = Figure(figsize=(11, 3.8))
    left, right = fig.subplots(1, 2)
    for cell in CELLS:
        pts = [(L, results[(cell, L)].get("test/acc")) for L in LENGTHS if results.get((cell, L), {}).get("test/acc") is not None]
        if pts:
            left.plot(*zip(*pts), marker="o", label=cell)
    left.axhline(0.5, color="grey", ls=":", lw=1)
    left.set_xscale("log")
    left.set_xticks(LENGTHS, [str(L) for L in LENGTHS])
    left.set_xlabel("distractor length L")
    left.set_ylabel("test accuracy")
    left.set_title("agreement: subject … verb number")
    left.legend()
    curves = {f"{c}, L=50, step 0": flow(f"{root}/{c}-L50") for c in ("rnn", "gru")}
    gradient_flow_figure({k: v for k, v in curves.items() if v is not None}, ax=right)
    right.set_title("gradient reaching each step (initialisation)")
    fig.tight_layout()
    os.makedirs("docs/figures", exist_ok=True)
    fig.savefig("docs/figures/agreement.png", dpi=110)
    print("| cell | " + " | ".join(f"L={L}" for L in LENGTHS) + " |")
    print("|---" * (len(LENGTHS) + 1) + "|")
    for cell in CELLS:
        cells = [results.get((cell, L), {}).get("test/acc") for L in LENGTHS]
        print(f"| {cell} | " + " | ".join("—" if a is None else f"{a:.3f}" for a in cells) + " |")
    for name, norms in curves.items():
        if norms is not None:
            print(f"{name}: ‖∂L/∂a<1>‖ / ‖∂L/∂a<T>‖ = {float(norms[0] / norms[-1]):.2e}")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "bench/out/agreement")
