"""Run one suite entry exactly as a user would, then read what it produced into one record.

The entry runs as `python -m seqlit fit --config C <overrides> <budget>
--test_after_fit true` in a child process, so it measures the real command
(start-up, data preparation, checkpointing and all) and a crash or a leak in
one entry cannot touch the next. The child logs to CSV under
OUT/runs/<name>/<version>/ (metrics.csv, config.yaml, checkpoints/) and its
output goes to OUT/runs/<name>/<version>.log; from those the record takes the test
metrics, the training throughput (the `Throughput` callback), the device,
and the model size (from the best checkpoint). Peak memory is the child's
maximum resident set size, from the kernel's accounting of the finished
process (`os.wait4`), so nothing has to poll it.
"""

from __future__ import annotations

import csv
import json
import os
import re
import shlex
import subprocess
import sys
import time
from datetime import datetime, timezone

import torch
import yaml

from seqlit.benchmark.suite import Entry
from seqlit.checkpoint_io import load_checkpoint
from seqlit.errors import SeqlitError

THROUGHPUT = "seqlit.callbacks.throughput.Throughput"
TASKS = {"LanguageModel": "language_modeling", "Tagger": "tagging", "Classifier": "classification",
         "Seq2Seq": "translation"}


def cli_value(value) -> str:
    """A YAML value as LightningCLI reads it from the command line."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (list, dict)):
        return json.dumps(value)
    return str(value)


def data_path(entry: Entry, data_root: str | None) -> str | None:
    """Where `--data-root` puts this entry's data (None: the config's own path stands)."""
    if data_root is None or entry.data is None:
        return None
    path = os.path.join(os.path.abspath(data_root), entry.data)
    if not os.path.exists(path):
        raise SeqlitError(f"entry {entry.name}: {path} does not exist (--data-root {data_root} + data: {entry.data})")
    return path


def runs_dir(out_dir: str) -> str:
    """Where the entries' run folders go: OUT/runs/, which .gitignore's `runs/` keeps out of commits."""
    return os.path.join(out_dir, "runs")


def fit_command(entry: Entry, out_dir: str, version: str, data_root: str | None) -> list[str]:
    cmd = [sys.executable, "-m", "seqlit", "fit"]
    for config in entry.configs:
        cmd += ["--config", config]
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
        "--trainer.logger.save_dir", runs_dir(out_dir),
        "--trainer.logger.name", entry.name,
        "--trainer.logger.version", version,
        f"--trainer.callbacks+={THROUGHPUT}",
    ]


def last_values(metrics_csv: str) -> dict[str, float]:
    """The last logged value of every column of a CSVLogger metrics file."""
    values: dict[str, float] = {}
    if os.path.isfile(metrics_csv):
        with open(metrics_csv, newline="", encoding="utf-8") as f:
            for row in csv.DictReader(f):
                values.update({k: float(v) for k, v in row.items() if v not in ("", None)})
    return values


def count_params(ckpt_path: str) -> int:
    """Floating-point numbers in the checkpoint's state_dict; tied weights (one storage) count once."""
    seen, total = set(), 0
    for tensor in load_checkpoint(ckpt_path)["state_dict"].values():
        if not torch.is_floating_point(tensor):
            continue
        key = (tensor.untyped_storage().data_ptr(), tensor.storage_offset(), tuple(tensor.shape))
        if key not in seen:
            seen.add(key)
            total += tensor.numel()
    return total


def best_checkpoint(run_dir: str, log_text: str) -> str | None:
    found = re.findall(r"\[seqlit\] best checkpoint: (.+)", log_text)
    if found and os.path.isfile(found[-1].strip()):
        return found[-1].strip()
    last = os.path.join(run_dir, "checkpoints", "last.ckpt")
    return last if os.path.isfile(last) else None


def describe_model(config_yaml: str) -> tuple[str | None, str | None]:
    """(task, backbone) from the configuration the run saved, e.g. ('tagging', 'bilstm-crf'), ('translation', 'bigru-attn')."""
    if not os.path.isfile(config_yaml):
        return None, None
    with open(config_yaml, encoding="utf-8") as f:
        model = (yaml.safe_load(f) or {}).get("model") or {}
    cls = str(model.get("class_path", "")).rsplit(".", 1)[-1]
    args = model.get("init_args") or {}
    backbone = ("bi" if args.get("bidirectional") else "") + str(args.get("kind", "?"))
    if (args.get("num_layers") or 1) > 1:
        backbone += f"x{args['num_layers']}"
    if args.get("backend") == "scratch":
        backbone += "-scratch"
    if args.get("output") == "crf":
        backbone += "-crf"
    if args.get("attention") not in (None, "none"):
        backbone += "-attn"
    return TASKS.get(cls, cls.lower() or None), backbone


def git_commit() -> str:
    try:
        out = subprocess.run(["git", "describe", "--always", "--dirty", "--abbrev=12"],
                             capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired):
        return "unknown"
    return out.stdout.strip() if out.returncode == 0 else "unknown"


def run_child(cmd: list[str], env: dict[str, str], log_path: str) -> tuple[int, float, float]:
    """Run `cmd` with its output in `log_path`: (exit code, wall seconds, peak resident MB)."""
    with open(log_path, "w", encoding="utf-8") as log:
        log.write("$ " + shlex.join(cmd) + "\n")
        log.flush()
        start = time.perf_counter()
        proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, env={**os.environ, **env})
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - start
    proc.returncode = os.waitstatus_to_exitcode(status)
    peak_bytes = usage.ru_maxrss * (1 if sys.platform == "darwin" else 1024)  # bytes on macOS, KiB on Linux
    return proc.returncode, wall, peak_bytes / 2**20


def run_entry(entry: Entry, suite_name: str, out_dir: str, data_root: str | None) -> dict:
    """Train and test one entry; its result record (status 'ok' or 'failed (exit N)')."""
    version = datetime.now().strftime("%Y%m%d-%H%M%S")
    run_dir = os.path.join(runs_dir(out_dir), entry.name, version)
    os.makedirs(os.path.dirname(run_dir), exist_ok=True)
    cmd = fit_command(entry, out_dir, version, data_root)
    code, wall, peak_mb = run_child(cmd, entry.env, run_dir + ".log")
    with open(run_dir + ".log", encoding="utf-8", errors="replace") as f:
        log_text = f.read()
    logged = last_values(os.path.join(run_dir, "metrics.csv"))
    task, backbone = describe_model(os.path.join(run_dir, "config.yaml"))
    ckpt = best_checkpoint(run_dir, log_text)
    device = re.findall(r"\[seqlit\] device: (.+)", log_text)
    row = {
        "name": entry.name,
        "task": entry.task or task,
        "backbone": entry.backbone or backbone,
        "dataset": entry.dataset,
        "metrics": {k: round(v, 6) for k, v in sorted(logged.items()) if k.startswith("test/")},
        "tokens_per_s": round(logged["train/tokens_per_s"], 1) if "train/tokens_per_s" in logged else None,
        "wall_s": round(wall, 1),
        "peak_mem_mb": round(peak_mb, 1),
        "params": count_params(ckpt) if ckpt else None,
        "device": device[-1].strip() if device else "unknown",
        "commit": git_commit(),
        "date": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "suite": suite_name,
        "status": "ok" if code == 0 else f"failed (exit {code})",
        "config": list(entry.configs),
        "budget": entry.budget,
        "log": os.path.relpath(run_dir + ".log", out_dir),
    }
    if "train/peak_gpu_mem_mb" in logged:
        row["peak_gpu_mem_mb"] = round(logged["train/peak_gpu_mem_mb"], 1)
    return row
