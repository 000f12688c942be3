"""The leaderboard a person takes in at a glance: OUT/leaderboard.md and OUT/leaderboard.png.

Rows are run summaries (`seeds.summarize`): one row per (task, dataset), one column per backbone, each cell the
headline test metric (`SeqTask.headline`, in the record) as mean ± sd; then every entry with all its figures. Layout: docs/benchmark.md.
"""

from __future__ import annotations

import math
import os
from collections import defaultdict

from seqlit.benchmark.compare import direction, directions_of
from seqlit.benchmark.seeds import Stat

# records written before the task named its headline (`model.scoring`): the first of these an entry has
PRIMARY = ("test/f1", "test/acc", "test/exact_match", "test/bleu", "test/bpc", "test/ppl")


def primary(row: dict) -> str | None:
    metrics = row.get("metrics", {})
    named = ((row.get("model") or {}).get("scoring") or {}).get("headline")
    return named if named in metrics else next((m for m in PRIMARY if m in metrics), None)


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


def fmt_stat(s: Stat | None, spread: bool = True) -> str:
    """'4.503' for one seed; '4.503 ± 0.012' over seeds, with ' (4.49–4.52, n=3)' when `spread`."""
    if s is None:
        return "-"
    if s.sd is None:
        return fmt(s.mean)
    return f"{fmt(s.mean)} ± {fmt(s.sd)}" + (f" ({fmt(s.lo)}–{fmt(s.hi)}, n={s.n})" if spread else "")


def groups(rows: list[dict]) -> dict[tuple[str, str, str], list[dict]]:
    """(task, dataset, headline metric) -> the successful entries scored by it (with a finite mean)."""
    out: dict[tuple[str, str, str], list[dict]] = defaultdict(list)
    for row in rows:
        metric = primary(row)
        if row.get("status", "ok") == "ok" and metric and row["metrics"][metric].finite:
            out[(str(row.get("task")), str(row.get("dataset")), metric)].append(row)
    return dict(out)


def _arrow(metric: str, row: dict) -> str:
    return {1: "↑", -1: "↓"}.get(direction(metric, directions_of(row)), "")


def _best(entries: list[dict], metric: str) -> float:
    values = [e["metrics"][metric].mean for e in entries]
    return min(values) if direction(metric, directions_of(entries[0])) < 0 else max(values)


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
                text = fmt_stat(e["metrics"][metric], spread=False)
                text = f"**{text}**" if e["metrics"][metric].mean == best else text
                parts.append(f"{text} ({e['name']})" if len(here) > 1 else text)
            cells.append("<br>".join(parts))
        lines.append(f"| {task} · {dataset} ({metric.removeprefix('test/')} {_arrow(metric, entries[0])}) | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def _metrics_text(row: dict) -> str:
    metrics = row.get("metrics", {})
    head = primary(row)
    order = ([head] if head else []) + sorted(m for m in metrics if m != head)
    return ", ".join(f"{m.removeprefix('test/')} {fmt_stat(metrics[m])}" for m in order) or row.get("status", "-")


def _target_text(row: dict) -> str:
    """'val/f1 ≥ 0.9: 123 s (step 450)', 'not reached', or '-' without a target."""
    target = row.get("target")
    if not target:
        return "-"
    goal = f"{target['metric']} {'≥' if direction(target['metric'], directions_of(row)) > 0 else '≤'} {fmt(target['value'])}"
    if not row.get("target_reached"):
        return f"{goal}: not reached"
    steps = row.get("steps_to_target")
    where = f" (step {steps})" if row["records"] == 1 and steps is not None else \
        f" ({row['target_reached']} of {row['records']} seeds)"
    return f"{goal}: {fmt_stat(row['time_to_target_s'], spread=False)} s{where}"


def table_of_entries(rows: list[dict]) -> str:
    lines = ["| entry | task | backbone | dataset | seeds | test metrics | time to target | train tokens/s | wall s "
             "| peak MB | params | device | commit | date |",
             "| --- | --- | --- | --- | --- | --- | --- | ---: | ---: | ---: | ---: | --- | --- | --- |"]
    for r in rows:
        seeds = ",".join(str(s) for s in r.get("seeds", []) if s is not None) or "-"
        commit = str(r.get("commit")) + (" (dirty)" if r.get("dirty") and not str(r.get("commit")).endswith("-dirty") else "")
        lines.append(" | ".join([
            f"| {r['name']}", str(r.get("task")), str(r.get("backbone")), str(r.get("dataset")), seeds, _metrics_text(r),
            _target_text(r), fmt_stat(r.get("tokens_per_s"), spread=False), fmt_stat(r.get("wall_s"), spread=False),
            fmt_stat(r.get("peak_mem_mb"), spread=False), fmt_count(r.get("params")),
            str(r.get("device")) + (f" ({r['host']})" if r.get("host") else ""), commit, str(r.get("date")),
        ]) + " |")
    return "\n".join(lines)


def markdown(rows: list[dict], suite: str, chart: str | None) -> str:
    dates = sorted(str(r.get("date")) for r in rows)
    failed = [r["name"] for r in rows if r.get("status", "ok") != "ok"]
    dirty = [r["name"] for r in rows if r.get("dirty")]
    parts = [
        f"# Benchmark leaderboard: {suite}",
        "",
        f"{len(rows)} entries, run {dates[0][:10]}" + (f" to {dates[-1][:10]}" if dates[-1][:10] != dates[0][:10] else "")
        + f"; devices: {', '.join(sorted({str(r.get('device')) for r in rows}))}; "
        + (f"hosts: {', '.join(sorted({r['host'] for r in rows if r.get('host')}))}; " if any(r.get("host") for r in rows) else "")
        + f"commits: {', '.join(sorted({str(r.get('commit')) for r in rows}))}.",
        "Each cell is the entry's headline test metric (↑ higher is better, ↓ lower), mean ± sd over its seeds "
        "where it has several; the best mean of each row is in bold.",
    ]
    if failed:
        parts.append(f"Failed: {', '.join(failed)} (see their logs).")
    if dirty:
        parts.append(f"From a tree with uncommitted changes (not reproducible from the commit): {', '.join(dirty)}.")
    if chart:
        parts += ["", f"![leaderboard]({chart})"]
    parts += ["", "## Headline test metric by task and backbone", "", table_by_backbone(rows),
              "", "## All entries", "", table_of_entries(rows), ""]
    return "\n".join(parts)


BEST, OTHER, SPEED, TARGET = "#dd8452", "#4c72b0", "#55a868", "#c44e52"


def _panels(rows: list[dict]) -> list[dict]:
    """What each panel of the chart draws: title, bars (entry name, Stat), their colours, target lines."""
    panels = []
    for (task, dataset, metric), entries in sorted(groups(rows).items()):
        best = _best(entries, metric)
        name = metric.rsplit("/", 1)[-1]
        targets = sorted({(e["target"]["metric"], e["target"]["value"]) for e in entries
                          if e.get("target") and e["target"]["metric"].rsplit("/", 1)[-1] == name})
        panels.append({"title": f"{task} · {dataset}: {name} {_arrow(metric, entries[0])}",
                       "bars": [(e["name"], e["metrics"][metric]) for e in entries],
                       "colours": [BEST if e["metrics"][metric].mean == best else OTHER for e in entries],
                       "targets": targets})
    timed = [r for r in rows if r.get("tokens_per_s") is not None]
    if timed:
        panels.append({"title": "training tokens/s", "bars": [(r["name"], r["tokens_per_s"]) for r in timed],
                       "colours": [SPEED] * len(timed), "targets": []})
    return panels


def chart(rows: list[dict], path: str, suite: str) -> None:
    """One horizontal bar panel per (task, dataset), then training tokens/s; a legend of only the marks used."""
    # imported here, not at import: `benchmark --help` and the table need no plotting library; a bare Figure
    # renders headless without switching the process's backend (seqlit/plots.py)
    from matplotlib.figure import Figure
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch

    panels = _panels(rows)
    if not panels:
        return
    heights = [max(len(p["bars"]), 1) * 0.35 + 0.9 for p in panels]
    height = sum(heights) + 0.9  # inches: the panels, then 0.9 for the title and the legend above them
    fig = Figure(figsize=(7.5, height))
    axes = fig.subplots(len(panels), 1, gridspec_kw={"height_ratios": heights}, squeeze=False)
    for ax, panel in zip(axes[:, 0], panels):
        labels, stats = zip(*panel["bars"])
        errors = [math.nan if s.sd is None else s.sd for s in stats]  # NaN: no bar for a single seed
        ax.barh(labels, [s.mean for s in stats], xerr=None if all(s.sd is None for s in stats) else errors,
                color=panel["colours"], error_kw={"ecolor": "black", "capsize": 3})
        for metric, value in panel["targets"]:
            ax.axvline(value, color=TARGET, linestyle="--", linewidth=1.2)
            ax.text(value, -0.6, f" target {fmt(value)} ({metric})", color=TARGET, fontsize=7, va="bottom")
        ax.invert_yaxis()
        for y, s in enumerate(stats):
            ax.text(s.mean + (s.sd or 0.0), y, f" {fmt_stat(s, spread=False)}", va="center", fontsize=8)
        reach = max([s.mean + (s.sd or 0.0) for s in stats] + [value for _, value in panel["targets"]])
        ax.set_xlim(0, reach * 1.3 if reach > 0 else 1)  # room for the value labels
        ax.set_title(panel["title"], fontsize=9, loc="left")
        ax.tick_params(labelsize=8)
    used = {c for p in panels for c in p["colours"]}
    handles = [Patch(color=c, label=label) for c, label in
               ((BEST, "best of its panel"), (OTHER, "other entries"), (SPEED, "training tokens/s")) if c in used]
    if any(s.sd is not None for p in panels for _, s in p["bars"]):
        handles.append(Line2D([], [], color="black", marker="|", linestyle="none", label="± sd over seeds"))
    if any(p["targets"] for p in panels):
        handles.append(Line2D([], [], color=TARGET, linestyle="--", label="quality target"))
    fig.suptitle(f"seqlit benchmark: {suite}", fontsize=10, y=1 - 0.05 / height, va="top")
    fig.legend(handles=handles, loc="upper center", ncol=len(handles), fontsize=7, frameon=False,
               bbox_to_anchor=(0.5, 1 - 0.3 / height))
    fig.tight_layout(rect=(0, 0, 1, 1 - 0.55 / height))
    fig.savefig(path, dpi=110)


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
