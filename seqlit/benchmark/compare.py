"""Regression check: this run's results against a baseline results file.

Each test metric has a direction (perplexity and bits per character go
down, accuracy, F1, BLEU and exact match go up; per-type variants such as
`f1_PER` follow their family) and a tolerance: the fraction of the baseline
value by which it may get worse before it counts as a regression. Getting
better never fails. Training throughput may drop by at most
`max_throughput_drop` of the baseline; on a shared machine that figure is
noisy, so the check can be switched off (`--compare-throughput false`).

Only entries present in this run are compared (`--only` runs a subset); an
entry without a baseline is listed as new, not failed; a failed run or a
metric that disappeared is a regression.
"""

from __future__ import annotations

from dataclasses import dataclass

LOWER_IS_BETTER = {"ppl", "bpc", "loss", "nll"}
HIGHER_IS_BETTER = {"acc", "f1", "bleu", "exact_match", "auroc", "precision", "recall"}
DEFAULT_TOLERANCES = {"ppl": 0.02, "bpc": 0.02, "acc": 0.01, "f1": 0.01, "bleu": 0.02, "exact_match": 0.01}
DEFAULT_TOLERANCE = 0.02
DEFAULT_THROUGHPUT_DROP = 0.5
THROUGHPUT = "tokens_per_s"


def family(metric: str) -> str:
    """`test/f1_PER` -> `f1`; `test/exact_match` -> `exact_match`."""
    name = metric.rsplit("/", 1)[-1]
    return name if name in LOWER_IS_BETTER | HIGHER_IS_BETTER else name.split("_")[0]


def direction(metric: str) -> int:
    """+1 if higher is better, -1 if lower is better, 0 if seqlit does not know."""
    fam = family(metric)
    return 1 if fam in HIGHER_IS_BETTER else -1 if fam in LOWER_IS_BETTER else 0


@dataclass
class Diff:
    entry: str
    metric: str
    baseline: float | None
    current: float | None
    allowed: str
    verdict: str

    @property
    def regression(self) -> bool:
        return self.verdict.startswith("REGRESSION")


def _judge(entry: str, metric: str, base: float | None, cur: float | None, tol: float | None) -> Diff:
    """`tol`: relative worsening allowed (None: the metric is shown, not judged)."""
    sign = 1 if metric == THROUGHPUT else direction(metric)
    allowed = "-" if tol is None or sign == 0 else f"{tol:.0%}"
    if base is None:
        return Diff(entry, metric, base, cur, allowed, "new")
    if cur is None:
        return Diff(entry, metric, base, cur, allowed, "REGRESSION (missing)")
    if tol is None or sign == 0:
        return Diff(entry, metric, base, cur, allowed, "not compared")
    worse_by = (base - cur) * sign  # > 0: worse
    if worse_by > tol * abs(base):
        return Diff(entry, metric, base, cur, allowed, "REGRESSION")
    verdict = "same" if cur == base else "better" if worse_by < 0 else "within tolerance"
    return Diff(entry, metric, base, cur, allowed, verdict)


def tolerance(metric: str, tolerances: dict[str, float]) -> float:
    name = metric.rsplit("/", 1)[-1]
    merged = {**DEFAULT_TOLERANCES, **tolerances}
    return merged.get(name, merged.get(family(metric), DEFAULT_TOLERANCE))


def compare(baseline: dict[str, dict], current: dict[str, dict], tolerances: dict[str, float] | None = None,
            max_throughput_drop: float | None = DEFAULT_THROUGHPUT_DROP) -> list[Diff]:
    """Differences for every entry of `current` (name -> record); `max_throughput_drop` None skips throughput."""
    tolerances = tolerances or {}
    diffs = []
    for name, row in current.items():
        base = baseline.get(name)
        if base is None:
            diffs.append(Diff(name, "(entry)", None, None, "-", "new"))
            continue
        if row.get("status", "ok") != "ok":
            diffs.append(Diff(name, "(entry)", None, None, "-", f"REGRESSION ({row['status']})"))
            continue
        metrics = {**base.get("metrics", {}), **row.get("metrics", {})}
        for metric in sorted(metrics):
            diffs.append(_judge(name, metric, base.get("metrics", {}).get(metric), row.get("metrics", {}).get(metric),
                                tolerance(metric, tolerances)))
        diffs.append(_judge(name, THROUGHPUT, base.get(THROUGHPUT), row.get(THROUGHPUT), max_throughput_drop))
    return diffs


def _num(v: float | None) -> str:
    return "-" if v is None else f"{v:.6g}"


def render(diffs: list[Diff]) -> str:
    """An aligned markdown table: entry, metric, baseline, current, change, allowed, verdict."""
    head = ["entry", "metric", "baseline", "current", "change", "allowed worse", "verdict"]
    rows = []
    for d in diffs:
        change = "-" if d.baseline in (None, 0) or d.current is None else f"{(d.current - d.baseline) / abs(d.baseline):+.2%}"
        rows.append([d.entry, d.metric, _num(d.baseline), _num(d.current), change, d.allowed, d.verdict])
    widths = [max(len(str(r[i])) for r in [head, *rows]) for i in range(len(head))]

    def line(cells: list) -> str:
        return "| " + " | ".join(str(c).ljust(w) for c, w in zip(cells, widths)) + " |"

    return "\n".join([line(head), line(["-" * w for w in widths]), *map(line, rows)])
