"""Run one suite entry exactly as a user would, then read what it produced into one record.

Each entry is `python -m seqlit fit ... --test_after_fit true` in a child process, so it measures the real
command and a crash cannot touch the next entry. The record is read from the run's results.json, never from the
log; peak memory comes from `os.wait4`. Details: docs/benchmark.md.
"""

from __future__ import annotations

import json
import os
import shlex
import subprocess
import sys
import time
from datetime import datetime, timezone

from seqlit.run import signals
from seqlit.benchmark.compare import direction, directions_of
from seqlit.benchmark.schema import Entry
from seqlit.errors import SeqlitError

THROUGHPUT = "seqlit.callbacks.throughput.Throughput"


def cli_value(value) -> str:
    """A YAML value as LightningCLI reads it from the command line."""
    return json.dumps(value) if value is None or isinstance(value, (bool, list, dict)) else str(value)


def data_path(entry: Entry, data_root: str | None) -> str | None:
    """Where `--data_root` puts this entry's data (None: the config's own path stands)."""
    if data_root is None or entry.data is None:
        return None
    path = os.path.join(os.path.abspath(data_root), entry.data)
    if not os.path.exists(path):
        raise SeqlitError(f"entry {entry.name}: {path} does not exist (--data_root {data_root} + data: {entry.data})")
    return path


def runs_dir(out_dir: str) -> str:
    """Where the entries' run folders go: OUT/runs/, which .gitignore's `runs/` keeps out of commits."""
    return os.path.join(out_dir, "runs")


def fit_command(entry: Entry, out_dir: str, version: str, data_root: str | None, seed: int | None = None) -> list[str]:
    cmd = [sys.executable, "-m", "seqlit", "fit"]
    for config in entry.configs:
        cmd += ["--config", config]
    if seed is not None:
        cmd += ["--seed_everything", str(seed)]
    path = data_path(entry, data_root)
    if path is not None:
        cmd += ["--data.init_args.path", path]
    for key, value in {**entry.overrides, **{f"trainer.{k}": v for k, v in entry.budget.items()}}.items():
        cmd += [f"--{key}", cli_value(value)]
    return cmd + [
        "--test_after_fit", "true",
        "--trainer.enable_progress_bar", "false",
        "--trainer.default_root_dir", os.path.join(runs_dir(out_dir), entry.name),
        "--trainer.logger", "pytorch_lightning.loggers.CSVLogger",
        "--trainer.logger.save_dir", os.path.abspath(runs_dir(out_dir)),  # a relative one would be read from the root dir
        "--trainer.logger.name", entry.name,
        "--trainer.logger.version", version,
        f"--trainer.callbacks+={THROUGHPUT}",
    ]


def read_run_results(run_dir: str) -> dict | None:
    """The run's results.json (seqlit/callbacks/run_results.py), or None if the run never wrote one."""
    from seqlit.callbacks.run_results import FILENAME  # here: it imports Lightning, which `benchmark --help` needs not

    path = os.path.join(run_dir, FILENAME)
    if not os.path.isfile(path):
        return None
    with open(path, encoding="utf-8") as f:
        return json.load(f)


def time_to_target(validation: list[dict], target: dict,
                   directions: dict[str, int] | None = None) -> tuple[float | None, int | None]:
    """(seconds since fit started, step) of the first validation pass that reached the target, else (None, None);
    `directions`: the task's (`SeqTask.directions`)."""
    sign = direction(target["metric"], directions)
    for point in validation:
        value = point["metrics"].get(target["metric"])
        if value is not None and (value - target["value"]) * sign >= 0:  # NaN never reaches it
            return point["time_s"], point["step"]
    return None, None


def run_child(cmd: list[str], env: dict[str, str], log_path: str) -> tuple[int, float, float, float]:
    """Run `cmd` with its output in `log_path`: (exit code, wall seconds, peak resident MB, CPU seconds).

    CPU seconds against wall time x threads show whether the entry had its cores to itself (`cpu_share`). A
    SIGTERM or Ctrl-C the benchmark gets is passed on: a fit saves where it is and exits 143.
    """
    with open(log_path, "w", encoding="utf-8") as log:
        log.write("$ " + shlex.join(cmd) + "\n")
        log.flush()
        start = time.perf_counter()
        # its own process group: a Ctrl-C at the terminal reaches it once, forwarded (seqlit/run/signals.py), not
        # twice (the terminal's and the forwarded one), which would stop it before it saves
        proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, env={**os.environ, **env}, process_group=0)
        with signals.forward_to(proc.pid):
            _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - start
    proc.returncode = os.waitstatus_to_exitcode(status)
    peak_bytes = usage.ru_maxrss * (1 if sys.platform == "darwin" else 1024)  # bytes on macOS, KiB on Linux
    return proc.returncode, wall, peak_bytes / 2**20, usage.ru_utime + usage.ru_stime


def run_entry(entry: Entry, suite_name: str, out_dir: str, data_root: str | None, seed: int | None = None,
              run_id: str | None = None, provenance: dict | None = None, announce: str | None = None) -> dict:
    """Train and test one entry (with `seed`, if given); its record (status 'ok' or 'failed (...)').

    `run_id` is shared by the records of the entry's seeds; `provenance` is `provenance.collect()`;
    `announce`, if given, is printed first with the path of the run's log (known only once its version is)."""
    version = datetime.now().strftime("%Y%m%d-%H%M%S") + ("" if seed is None else f"-seed{seed}")
    run_dir = os.path.join(runs_dir(out_dir), entry.name, version)
    os.makedirs(os.path.dirname(run_dir), exist_ok=True)
    if announce is not None:
        print(f"{announce} (log: {run_dir}.log)", flush=True)
    cmd = fit_command(entry, out_dir, version, data_root, seed)
    code, wall, peak_mb, cpu_s = run_child(cmd, entry.env, run_dir + ".log")
    threads = int(entry.env.get("OMP_NUM_THREADS") or os.environ.get("OMP_NUM_THREADS") or os.cpu_count() or 1)
    res = read_run_results(run_dir) or {}
    status = "ok" if code == 0 and res else f"failed (exit {code})" if code else "failed (no results.json)"
    row = _record(entry, suite_name, seed, run_id, provenance, status, res)
    row.update({
        "wall_s": round(wall, 1),
        "peak_mem_mb": round(peak_mb, 1),
        "cpu_share": round(cpu_s / (wall * threads), 3) if wall > 0 else None,  # of the entry's threads' wall time
        "command": " ".join([*(f"{k}={shlex.quote(v)}" for k, v in entry.env.items()), shlex.join(cmd)]),
        "log": os.path.relpath(run_dir + ".log", out_dir),
    })
    if entry.target is not None:
        row["time_to_target_s"], row["steps_to_target"] = time_to_target(res.get("validation", []), entry.target,
                                                                          directions_of(row))
    if "train/peak_gpu_mem_mb" in res.get("metrics", {}):
        row["peak_gpu_mem_mb"] = round(res["metrics"]["train/peak_gpu_mem_mb"], 1)
    return row


def not_run(entry: Entry, suite_name: str, why: str, seed: int | None = None, run_id: str | None = None,
            provenance: dict | None = None) -> dict:
    """The record of an entry that could not start (a dependency failed): failed, saying why, nothing measured."""
    return _record(entry, suite_name, seed, run_id, provenance, f"failed (not run: {why})", {})


def _record(entry: Entry, suite_name: str, seed: int | None, run_id: str | None, provenance: dict | None,
            status: str, res: dict) -> dict:
    """A record's fields, from the run's results.json (`res`); what the process measured is None until set."""
    model = res.get("model") or {}
    row = {
        "name": entry.name,
        "task": entry.task or model.get("task"),
        "backbone": entry.backbone or model.get("label"),  # the backbone's own (`Backbone.label`)
        "dataset": entry.dataset,
        "seed": seed,
        "metrics": {k: round(v, 6) for k, v in res.get("metrics", {}).items() if k.startswith("test/")},
        "tokens_per_s": round(res["tokens_per_s"], 1) if res.get("tokens_per_s") is not None else None,
        "wall_s": None,
        "peak_mem_mb": None,
        "cpu_share": None,
        "params": model.get("params"),
        "device": res.get("device", "unknown"),
        **(provenance or {}),
        "command": None,
        "date": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "suite": suite_name,
        "run_id": run_id,
        "status": status,
        "config": list(entry.configs),
        "budget": entry.budget,
        "model": model,
        "best_checkpoint": res.get("best_checkpoint"),
        "log": None,
    }
    if entry.after:
        row["after"] = list(entry.after)
    if entry.target is not None:
        row["target"] = entry.target
        row["time_to_target_s"], row["steps_to_target"] = None, None
    return row
