"""Regression check: this run's results against a baseline results file, failing loudly on anything doubtful.

Each metric has a direction (the task names it: `SeqTask.directions`, in the record's model description) and a relative tolerance (widened by seed noise); throughput is judged only between
records of the same host. A NaN, a missing metric or entry, a failed run or an unknown direction fails, naming
entry and metric. The rules in full: docs/benchmark.md.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from seqlit.benchmark.seeds import Stat

# the shipped tasks' families: for records written before the task named its directions (`model.scoring`),
# and for the suite's checks, which run before any task does
BUILT_IN = {"ppl": -1, "bpc": -1, "loss": -1, "nll": -1,
            "acc": 1, "f1": 1, "bleu": 1, "exact_match": 1, "auroc": 1, "precision": 1, "recall": 1}
DEFAULT_TOLERANCES = {"ppl": 0.02, "bpc": 0.02, "acc": 0.01, "f1": 0.01, "bleu": 0.02, "exact_match": 0.01}
DEFAULT_TOLERANCE = 0.02
DEFAULT_THROUGHPUT_DROP = 0.5
THROUGHPUT = "tokens_per_s"


def family(metric: str, directions: dict[str, int] | None = None) -> str:
    """`test/f1_PER` -> `f1`; `test/exact_match` -> `exact_match`."""
    name = metric.rsplit("/", 1)[-1]
    return name if name in (directions or BUILT_IN) else name.split("_")[0]


def directions_of(row: dict | None) -> dict[str, int] | None:
    """The directions a record's task named (`SeqTask.directions`), None for an older record."""
    return (((row or {}).get("model") or {}).get("scoring") or {}).get("directions")


def direction(metric: str, directions: dict[str, int] | None = None) -> int:
    """+1 if higher is better, -1 if lower is better, 0 if unknown; by the task's `directions` where given."""
    directions = directions or BUILT_IN
    return directions.get(family(metric, directions), 0)


@dataclass
class Diff:
    entry: str
    metric: str
    baseline: Stat | None
    current: Stat | None
    allowed: str
    verdict: str
    failed: bool = False


def noise(base: Stat, cur: Stat) -> float:
    """Twice the standard error of the difference of the means; 0 when neither side has two seeds."""
    spread = [(s.sd, s.n) for s in (base, cur) if s.sd is not None]
    if not spread:
        return 0.0
    pooled = math.sqrt(sum(sd**2 * (n - 1) for sd, n in spread) / sum(n - 1 for _, n in spread))
    return 2 * pooled * math.sqrt(1 / base.n + 1 / cur.n)


def _judge(entry: str, metric: str, base: Stat | None, cur: Stat | None, tol: float | None, records: int,
           directions: dict[str, int] | None = None) -> Diff:
    """`tol`: relative worsening allowed (None: shown, not judged); `records`: seed records this run holds;
    `directions`: the task's (`SeqTask.directions`), None for seqlit's own families."""
    sign = 1 if metric == THROUGHPUT else direction(metric, directions)

    def diff(verdict: str, allowed: str = "-", failed: bool = False) -> Diff:
        return Diff(entry, metric, base, cur, allowed, verdict, failed)

    if sign == 0:
        return diff(f"FAIL: no known direction (families: {', '.join(sorted(directions or BUILT_IN))})", failed=True)
    if tol is None:
        return diff("not compared")
    if cur is None or cur.n < records:
        if base is None:
            return diff("not compared (no figures)")
        return diff("FAIL: missing from this run", failed=True)
    if not cur.finite:
        return diff("FAIL: not a finite number", failed=True)
    if base is None:
        return diff("new metric" if metric != THROUGHPUT else "not compared (no baseline figure)")
    if not base.finite:
        return diff("FAIL: baseline is not a finite number", failed=True)
    spread = noise(base, cur)
    limit = max(tol * abs(base.mean), spread)
    allowed = f"{tol:.0%}" + (f", noise {spread:.3g}" if spread else "")
    worse_by = (base.mean - cur.mean) * sign  # > 0: worse
    if worse_by > limit:
        return diff("REGRESSION", allowed, failed=True)
    if cur.mean == base.mean:
        return diff("same", allowed)
    if -worse_by > limit:  # "better" is held to the same bar as a regression, so a lucky seed is not news
        return diff("better", allowed)
    return diff("within seed noise" if abs(worse_by) > tol * abs(base.mean) else "within tolerance", allowed)


def tolerance(metric: str, tolerances: dict[str, float]) -> float:
    name = metric.rsplit("/", 1)[-1]
    merged = {**DEFAULT_TOLERANCES, **tolerances}
    return merged.get(name, merged.get(family(metric), DEFAULT_TOLERANCE))


def compare(baseline: dict[str, dict], current: dict[str, dict], tolerances: dict[str, float] | None = None,
            max_throughput_drop: float | None = DEFAULT_THROUGHPUT_DROP, allow_new: bool = False,
            expected: set[str] | frozenset[str] = frozenset()) -> list[Diff]:
    """Differences for every entry of `current` and of `expected`.

    `baseline` and `current` map entry names to run summaries (`seeds.summarize`); `expected` names the baseline
    entries this run should hold (those its `--only` selects); `max_throughput_drop` None skips throughput.
    """
    tolerances = tolerances or {}
    diffs = [Diff(name, "(entry)", None, None, "-", "FAIL: in the baseline, missing from this run", True)
             for name in sorted(set(expected) - set(current))]
    for name, run in current.items():
        base = baseline.get(name)
        if run.get("status", "ok") != "ok":
            diffs.append(Diff(name, "(entry)", None, None, "-", f"FAIL: entry {run['status']}", True))
            continue
        if base is None:
            diffs.append(Diff(name, "(entry)", None, None, "-", "new (--allow_new)" if allow_new
                              else "FAIL: no baseline (--allow_new accepts a new entry)", not allow_new))
            continue
        for metric in sorted({**base["metrics"], **run["metrics"]}):
            diffs.append(_judge(name, metric, base["metrics"].get(metric), run["metrics"].get(metric),
                                tolerance(metric, tolerances), run["records"], directions_of(run)))
        other = _other_host(base, run)
        diffs.append(_judge(name, THROUGHPUT, base.get(THROUGHPUT), run.get(THROUGHPUT), max_throughput_drop,
                            run["records"]) if not other else
                     Diff(name, THROUGHPUT, base.get(THROUGHPUT), run.get(THROUGHPUT), "-", f"not compared ({other})"))
    return diffs


def _other_host(base: dict, run: dict) -> str | None:
    """Why throughput of these two runs is not comparable, or None when both ran on the same named host."""
    if base.get("host") is None:
        return "the baseline does not name its host"
    if run.get("host") is None:
        return "this run does not name its host"
    return None if base["host"] == run["host"] else f"baseline on {base['host']}, this run on {run['host']}"


def _num(s: Stat | None) -> str:
    if s is None:
        return "-"
    return f"{s.mean:.6g}" + (f" ± {s.sd:.2g} (n={s.n})" if s.sd is not None else "")


def render(diffs: list[Diff]) -> str:
    """An aligned markdown table: entry, metric, baseline, current, change, allowed, verdict."""
    head = ["entry", "metric", "baseline", "current", "change", "allowed worse", "verdict"]
    rows = []
    for d in diffs:
        known = d.baseline is not None and d.current is not None and d.baseline.finite and d.baseline.mean != 0
        change = f"{(d.current.mean - d.baseline.mean) / abs(d.baseline.mean):+.2%}" if known else "-"
        rows.append([d.entry, d.metric, _num(d.baseline), _num(d.current), change, d.allowed, d.verdict])
    widths = [max(len(str(r[i])) for r in [head, *rows]) for i in range(len(head))]

    def line(cells: list) -> str:
        return "| " + " | ".join(str(c).ljust(w) for c, w in zip(cells, widths)) + " |"

    return "\n".join([line(head), line(["-" * w for w in widths]), *map(line, rows)])
