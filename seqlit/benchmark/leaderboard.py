"""The leaderboard a person takes in at a glance: OUT/leaderboard.md and OUT/leaderboard.png.

One row per (task, dataset), one column per backbone, each cell the entry's
headline test metric (entity F1 for tagging, accuracy for classification,
exact match, else BLEU, for translation, bits per character for character
LMs, perplexity for word LMs), the best of the row in bold. Below it, every
entry with all its figures. The chart shows the same headline metric as
bars, one panel per row, plus training tokens/s.
"""

from __future__ import annotations

import os
from collections import defaultdict

import matplotlib

matplotlib.use("Agg")  # headless: CI and compute nodes have no display
import matplotlib.pyplot as plt  # noqa: E402

from seqlit.benchmark.compare import direction  # noqa: E402

# the first of these an entry has is its headline metric
PRIMARY = ("test/f1", "test/acc", "test/exact_match", "test/bleu", "test/bpc", "test/ppl")


def primary(row: dict) -> str | None:
    return next((m for m in PRIMARY if m in row.get("metrics", {})), None)


def fmt(value: float | None) -> str:
    if value is None:
        return "-"
    if abs(value) >= 1000:
        return f"{value:,.0f}"
    return f"{value:.1f}" if abs(value) >= 100 else f"{value:.4g}"


def fmt_count(n: int | None) -> str:
    if n is None:
        return "-"
    return f"{n / 1e6:.2f}M" if n >= 1e6 else f"{n / 1e3:.1f}k" if n >= 1e3 else str(n)


def groups(rows: list[dict]) -> dict[tuple[str, str, str], list[dict]]:
    """(task, dataset, headline metric) -> the successful entries scored by it."""
    out: dict[tuple[str, str, str], list[dict]] = defaultdict(list)
    for row in rows:
        metric = primary(row)
        if row.get("status", "ok") == "ok" and metric:
            out[(str(row.get("task")), str(row.get("dataset")), metric)].append(row)
    return dict(out)


def _arrow(metric: str) -> str:
    return {1: "↑", -1: "↓"}.get(direction(metric), "")


def _best(entries: list[dict], metric: str) -> float:
    values = [e["metrics"][metric] for e in entries]
    return min(values) if direction(metric) < 0 else max(values)


def table_by_backbone(rows: list[dict]) -> str:
    grouped = groups(rows)
    backbones = sorted({str(r.get("backbone")) for entries in grouped.values() for r in entries})
    lines = ["| task · dataset (metric) | " + " | ".join(backbones) + " |",
             "| --- |" + " ---: |" * len(backbones)]
    for (task, dataset, metric), entries in sorted(grouped.items()):
        best = _best(entries, metric)
        cells = []
        for backbone in backbones:
            here = [e for e in entries if str(e.get("backbone")) == backbone]
            parts = []
            for e in here:
                text = fmt(e["metrics"][metric])
                text = f"**{text}**" if e["metrics"][metric] == best else text
                parts.append(f"{text} ({e['name']})" if len(here) > 1 else text)
            cells.append("<br>".join(parts) or "")
        lines.append(f"| {task} · {dataset} ({metric.removeprefix('test/')} {_arrow(metric)}) | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def _metrics_text(row: dict) -> str:
    metrics = row.get("metrics", {})
    head = primary(row)
    order = ([head] if head else []) + sorted(m for m in metrics if m != head)
    return ", ".join(f"{m.removeprefix('test/')} {fmt(metrics[m])}" for m in order) or row.get("status", "-")


def table_of_entries(rows: list[dict]) -> str:
    lines = ["| entry | task | backbone | dataset | test metrics | train tokens/s | wall s | peak MB | params | device | commit | date |",
             "| --- | --- | --- | --- | --- | ---: | ---: | ---: | ---: | --- | --- | --- |"]
    for r in rows:
        lines.append(" | ".join([
            f"| {r['name']}", str(r.get("task")), str(r.get("backbone")), str(r.get("dataset")), _metrics_text(r),
            fmt(r.get("tokens_per_s")), fmt(r.get("wall_s")), fmt(r.get("peak_mem_mb")), fmt_count(r.get("params")),
            str(r.get("device")), str(r.get("commit")), str(r.get("date")),
        ]) + " |")
    return "\n".join(lines)


def markdown(rows: list[dict], suite: str, chart: str | None) -> str:
    dates = sorted(str(r.get("date")) for r in rows)
    failed = [r["name"] for r in rows if r.get("status", "ok") != "ok"]
    parts = [
        f"# Benchmark leaderboard: {suite}",
        "",
        f"{len(rows)} entries, run {dates[0][:10]}" + (f" to {dates[-1][:10]}" if dates[-1][:10] != dates[0][:10] else "")
        + f"; devices: {', '.join(sorted({str(r.get('device')) for r in rows}))}; "
        + f"commits: {', '.join(sorted({str(r.get('commit')) for r in rows}))}.",
        "Each cell is the entry's headline test metric (↑ higher is better, ↓ lower); the best of each row is in bold.",
    ]
    if failed:
        parts.append(f"Failed: {', '.join(failed)} (see their logs).")
    if chart:
        parts += ["", f"![leaderboard]({chart})"]
    parts += ["", "## Headline test metric by task and backbone", "", table_by_backbone(rows),
              "", "## All entries", "", table_of_entries(rows), ""]
    return "\n".join(parts)


def chart(rows: list[dict], path: str, suite: str) -> None:
    """One horizontal bar panel per (task, dataset), the best bar in orange; then training tokens/s per entry."""
    grouped = sorted(groups(rows).items())
    timed = [r for r in rows if r.get("tokens_per_s")]
    panels = [(f"{task} · {dataset}: {metric.removeprefix('test/')} {_arrow(metric)}",
               [(e["backbone"] if sum(x["backbone"] == e["backbone"] for x in entries) == 1 else e["name"],
                 e["metrics"][metric]) for e in entries], _best(entries, metric))
              for (task, dataset, metric), entries in grouped]
    if timed:
        panels.append(("training tokens/s (log scale)", [(r["name"], r["tokens_per_s"]) for r in timed], None))
    if not panels:
        return
    heights = [max(len(bars), 1) * 0.35 + 0.8 for _, bars, _ in panels]
    fig, axes = plt.subplots(len(panels), 1, figsize=(7, sum(heights) + 0.6),
                             gridspec_kw={"height_ratios": heights}, squeeze=False)
    for ax, (title, bars, best) in zip(axes[:, 0], panels):  # best None: the throughput panel
        labels, values = [str(b[0]) for b in bars], [b[1] for b in bars]
        ax.barh(labels, values, color=["#dd8452" if v == best else "#4c72b0" for v in values])
        ax.invert_yaxis()
        if best is None:
            ax.set_xscale("log")
        for y, v in enumerate(values):
            ax.text(v, y, f" {fmt(v)}", va="center", fontsize=8)
        ax.set_title(title, fontsize=9, loc="left")
        ax.tick_params(labelsize=8)
        ax.margins(x=0.15)
    fig.suptitle(f"seqlit benchmark: {suite}", fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def write(rows: list[dict], out_dir: str, suite: str) -> str:
    """Write leaderboard.png and leaderboard.md into `out_dir`; returns the markdown path."""
    png = os.path.join(out_dir, "leaderboard.png")
    if os.path.isfile(png):
        os.remove(png)  # never show a chart of an earlier run
    chart(rows, png, suite)
    path = os.path.join(out_dir, "leaderboard.md")
    with open(path, "w", encoding="utf-8") as f:
        f.write(markdown(rows, suite, "leaderboard.png" if os.path.isfile(png) else None))
    return path
