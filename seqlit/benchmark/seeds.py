"""One benchmark run of an entry is the records of its seeds; this turns them into one figure per metric.

Mean over seeds with its spread, because one seed of a small model moves by more than most changes people want
to judge; a run without `seeds` has no spread (sd None).
"""

from __future__ import annotations

import math
import statistics
from dataclasses import dataclass

from seqlit.benchmark.results import dirty


@dataclass(frozen=True)
class Stat:
    """Values of one figure over a run's seeds."""

    mean: float
    sd: float | None  # sample standard deviation; None for a single value
    lo: float
    hi: float
    n: int

    @property
    def finite(self) -> bool:
        return math.isfinite(self.mean)


def stat(values: list[float]) -> Stat | None:
    """None for no values; a NaN or infinite value makes the mean non-finite (and so is never 'good')."""
    if not values:
        return None
    if not all(math.isfinite(v) for v in values):
        return Stat(math.nan, None, math.nan, math.nan, len(values))
    sd = statistics.stdev(values) if len(values) > 1 else None
    return Stat(statistics.fmean(values), sd, min(values), max(values), len(values))


def summarize(run: list[dict]) -> dict:
    """A run's records as one: the first record's fields, with `metrics` and the measured figures as Stats.

    `records` is how many seed records the run holds; a metric some of them lack has a smaller `n`.
    """
    first = run[0]
    metrics = sorted({m for r in run for m in r.get("metrics", {})})
    out = {**first,
           "records": len(run),
           "seeds": [r.get("seed") for r in run],
           "status": next((r["status"] for r in run if r.get("status", "ok") != "ok"), "ok"),
           "dirty": dirty(run),
           "metrics": {m: stat([r["metrics"][m] for r in run if r.get("metrics", {}).get(m) is not None])
                       for m in metrics}}
    for key in ("tokens_per_s", "wall_s", "peak_mem_mb", "time_to_target_s"):
        out[key] = stat([r[key] for r in run if r.get(key) is not None])
    out["target_reached"] = sum(r.get("time_to_target_s") is not None for r in run)
    return out
