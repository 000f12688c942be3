"""Benchmark records in W&B: one run per entry, all in one group (the suite), plus a summary table.

W&B is a convenience, not the record (results.jsonl is): the mode follows `WANDB_MODE` (offline by default) and
any W&B failure is a warning.
"""

from __future__ import annotations

import os
import warnings

PROJECT = "seqlit-benchmark"
COLUMNS = ["name", "seed", "task", "backbone", "dataset", "tokens_per_s", "time_to_target_s", "wall_s", "peak_mem_mb",
           "params", "device", "commit", "dirty", "date", "status"]


def _init(name: str, group: str, job_type: str, out_dir: str, config: dict | None = None):
    import wandb

    return wandb.init(project=PROJECT, group=group, name=name, job_type=job_type, dir=out_dir, config=config,
                      mode=os.environ.get("WANDB_MODE", "offline"),
                      settings=wandb.Settings(silent=True, init_timeout=60))


def log_entry(row: dict, group: str, out_dir: str) -> None:
    try:
        run = _init(row["name"], group, "entry", out_dir, config={"config": row.get("config"), "budget": row.get("budget")})
        run.summary.update({k: v for k, v in row.items() if k not in ("metrics", "budget")} | row.get("metrics", {}))
        run.finish()
    except Exception as err:  # noqa: BLE001 - tracking must never sink the benchmark
        warnings.warn(f"W&B logging of {row['name']} failed: {err}", stacklevel=2)


def log_table(rows: list[dict], group: str, out_dir: str) -> None:
    try:
        import wandb

        run = _init(f"{group}-summary", group, "summary", out_dir)
        metrics = sorted({m for r in rows for m in r.get("metrics", {})})
        table = wandb.Table(columns=COLUMNS + metrics,
                            data=[[r.get(c) for c in COLUMNS] + [r.get("metrics", {}).get(m) for m in metrics] for r in rows])
        run.log({"results": table})
        run.finish()
    except Exception as err:  # noqa: BLE001
        warnings.warn(f"W&B summary table failed: {err}", stacklevel=2)
