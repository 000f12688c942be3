"""`python -m seqlit benchmark`: run a suite, append results, redraw the leaderboard, compare.

Exit status: 0 when every entry ran and (with `--compare`) nothing regressed;
1 when an entry failed or a regression was found (the table of differences
says which); 2 for bad input (one line, like every seqlit command).
"""

from __future__ import annotations

import argparse
import os
import shlex

from seqlit.benchmark import compare, leaderboard, results, tracking
from seqlit.benchmark.runner import data_path, fit_command, run_entry, runs_dir
from seqlit.benchmark.suite import load_suite, select
from seqlit.errors import SeqlitError


def _bool(text: str) -> bool:
    if text.lower() in ("true", "1", "yes"):
        return True
    if text.lower() in ("false", "0", "no"):
        return False
    raise argparse.ArgumentTypeError(f"expected true or false, got {text!r}")


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m seqlit benchmark", description=__doc__.splitlines()[0],
                                exit_on_error=False)
    p.add_argument("--suite", required=True, help="suite YAML, e.g. configs/benchmarks/tiny.yaml")
    p.add_argument("--only", help="run only entries matching these comma-separated globs, e.g. 'sst2-*,pydoc-char-gru'")
    p.add_argument("--data-root", help="folder holding every entry's `data:` (e.g. ../shared/data); "
                                       "default: each config's own data path")
    p.add_argument("--out", help="output folder (default: results/<suite>)")
    p.add_argument("--compare", metavar="BASELINE.jsonl", help="fail (exit 1) if a metric regresses against this file")
    p.add_argument("--compare-throughput", type=_bool, default=True,
                   help="also fail when training tokens/s drops beyond the suite's max_throughput_drop (default true)")
    p.add_argument("--wandb", type=_bool, default=True, help="log each entry and a summary table to W&B (default true)")
    p.add_argument("--dry-run", action="store_true", help="print each entry's command and exit")
    return p


def main(argv: list[str]) -> None:
    try:
        args = build_parser().parse_args(argv)
    except argparse.ArgumentError as err:
        raise SeqlitError(f"benchmark: {err}") from None
    suite = load_suite(args.suite)
    entries = select(suite, args.only)
    out = args.out or os.path.join("results", suite.name)
    for entry in entries:  # every data folder exists before the first entry trains
        data_path(entry, args.data_root)
    baseline = results.latest(results.read(args.compare)) if args.compare else None
    if args.dry_run:
        for entry in entries:
            env = " ".join(f"{k}={shlex.quote(v)}" for k, v in entry.env.items())
            print(f"{entry.name}: {env + ' ' if env else ''}{shlex.join(fit_command(entry, out, 'VERSION', args.data_root))}")
        return

    rows = []
    for i, entry in enumerate(entries, 1):
        print(f"[benchmark] {i}/{len(entries)} {entry.name} (log: {os.path.join(runs_dir(out), entry.name)}/<version>.log)",
              flush=True)
        row = run_entry(entry, suite.name, out, args.data_root)
        results.append(os.path.join(out, "results.jsonl"), row)
        rows.append(row)
        metrics = ", ".join(f"{k} {leaderboard.fmt(v)}" for k, v in row["metrics"].items())
        print(f"[benchmark]   {row['status']} in {row['wall_s']:.0f} s: {metrics or 'no test metrics'}; "
              f"{leaderboard.fmt(row['tokens_per_s'])} train tokens/s; peak {row['peak_mem_mb']:.0f} MB", flush=True)
        if args.wandb:
            tracking.log_entry(row, suite.name, out)

    board = leaderboard.write(list(results.latest(results.read(os.path.join(out, "results.jsonl"))).values()),
                              out, suite.name)
    print(f"[benchmark] results: {os.path.join(out, 'results.jsonl')}; leaderboard: {board}")
    if args.wandb:
        tracking.log_table(rows, suite.name, out)

    failed = [r["name"] for r in rows if r["status"] != "ok"]
    regressions = []
    if baseline is not None:
        drop = (suite.max_throughput_drop if suite.max_throughput_drop is not None
                else compare.DEFAULT_THROUGHPUT_DROP) if args.compare_throughput else None
        diffs = compare.compare(baseline, {r["name"]: r for r in rows}, suite.tolerances, drop)
        regressions = [d for d in diffs if d.regression]
        print(f"\n[benchmark] compared with {args.compare}: {len(regressions)} regression(s)")
        print(compare.render(diffs))
    if failed:
        print(f"[benchmark] failed entries: {', '.join(failed)}")
    if failed or regressions:
        raise SystemExit(1)
