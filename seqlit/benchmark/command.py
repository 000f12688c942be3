"""`python -m seqlit benchmark`: run a suite, append results, redraw the leaderboard, compare.

Exit status: 0 when every entry ran and (with `--compare`) nothing failed the
check; 1 when an entry failed or the check did (the table of differences
says which entry and metric); 2 for bad input (one line, like every seqlit
command; `parse_flags` takes either spelling of a flag).
"""

from __future__ import annotations

import argparse
import os
import shlex
import uuid
from datetime import datetime

from seqlit.run import signals
from seqlit.benchmark import compare, dependencies, leaderboard, preflight, provenance, results, tracking
from seqlit.benchmark.runner import data_path, fit_command, not_run, run_entry
from seqlit.benchmark.seeds import summarize
from seqlit.cli.commands import boolean, parse_flags
from seqlit.benchmark.suite import load_suite, matches, select
from seqlit.errors import SeqlitError
from seqlit.io.storage import check_writable


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m seqlit benchmark", description=__doc__.splitlines()[0],
                                exit_on_error=False)
    p.add_argument("--suite", help="suite YAML, e.g. configs/benchmarks/tiny.yaml (required)")
    p.add_argument("--only", help="run only entries matching these comma-separated globs, e.g. 'sst2-*,pydoc-char-gru' "
                                  "(and the entries they name in `after:`)")
    p.add_argument("--data_root", help="folder holding every entry's `data:` (e.g. ../shared/data); "
                                       "default: each config's own data path")
    p.add_argument("--out", help="output folder (default: results/<suite>)")
    p.add_argument("--compare", metavar="BASELINE.jsonl",
                   help="fail (exit 1) on a regression against this results file, or on anything that makes the "
                        "comparison meaningless (NaN, missing metrics or entries, entries without a baseline)")
    p.add_argument("--compare_throughput", type=boolean, default=True,
                   help="also fail when training tokens/s drops beyond the suite's max_throughput_drop (default true)")
    p.add_argument("--allow_new", action="store_true",
                   help="--compare: accept entries the baseline does not have (default: they fail the check)")
    p.add_argument("--allow_dirty_baseline", action="store_true",
                   help="--compare: let a run recorded from a tree with uncommitted changes be the baseline")
    p.add_argument("--wandb", type=boolean, default=True, help="log each entry and a summary table to W&B (default true)")
    p.add_argument("--dry_run", action="store_true",
                   help="print each entry's command and exit (without parsing the configs, which a run does first)")
    return p


def main(argv: list[str]) -> None:
    args = parse_flags(build_parser(), argv, "benchmark")
    if not args.suite:
        raise SeqlitError("benchmark: --suite is required, e.g. --suite configs/benchmarks/tiny.yaml")
    suite = load_suite(args.suite)
    entries, added = dependencies.plan(suite.entries, select(suite, args.only))
    if added:
        print(f"[benchmark] --only {args.only} also runs {', '.join(added)}: entries it starts from (after:)", flush=True)
    out = args.out or os.path.join("results", suite.name)
    if os.path.exists(out) and not os.path.isdir(out):
        raise SeqlitError(f"benchmark: --out {out!r} is a file, not a folder: pass a folder (it is created if missing)")
    results_file = os.path.join(out, "results.jsonl")
    check_writable(results_file, "benchmark: --out")
    results.check_appendable(results_file)  # a damaged file is found now, not after every entry has trained
    for entry in entries:  # every data folder exists before the first entry trains
        data_path(entry, args.data_root)
    # the baseline of an entry is a record of the same suite: a results file may hold other suites' entries
    # (cpu and cpu_sweep share results/cpu), which this run neither has nor should be judged against
    baseline, notes = (results.baselines([r for r in results.read(args.compare) if r.get("suite", suite.name) == suite.name],
                                         args.allow_dirty_baseline) if args.compare else (None, []))
    if args.dry_run:
        for entry in entries:
            env = " ".join(f"{k}={shlex.quote(v)}" for k, v in entry.env.items())
            for seed in entry.seeds or (None,):
                cmd = fit_command(entry, out, "VERSION", args.data_root, seed)
                print(f"{entry.name}: {env + ' ' if env else ''}{shlex.join(cmd)}")
        return
    preflight.check_configs(entries, suite.path, out, args.data_root)  # entry 5's typo, before entry 1 trains

    source = provenance.collect()  # before this command writes anything (results.jsonl may be tracked)
    if source["dirty"] is not False:
        print(f"[benchmark] the tree at {source['commit']} has uncommitted changes (or is not a git checkout): "
              "these records are marked dirty and are no baseline unless --allow_dirty_baseline", flush=True)
    current, rows, done = {}, [], {}
    # a signal stops after the running entry, which gets it too and saves where it is (seqlit/run/signals.py)
    signals.defer("entry (it is sent the signal too)")
    for i, entry in enumerate(entries, 1):
        run_id = f"{datetime.now().strftime('%Y%m%d-%H%M%S')}-{uuid.uuid4().hex[:6]}"
        run = []
        for seed in entry.seeds or (None,):
            label = f"{entry.name}{'' if seed is None else f' seed {seed}'}"
            resolved, why = dependencies.resolve(entry, done, seed)
            if why is not None:
                print(f"[benchmark] {i}/{len(entries)} {label}: not run, {why}", flush=True)
                row = not_run(entry, suite.name, why, seed=seed, run_id=run_id, provenance=source)
            else:
                row = run_entry(resolved, suite.name, out, args.data_root, seed=seed, run_id=run_id, provenance=source,
                                announce=f"[benchmark] {i}/{len(entries)} {label}")
                metrics = ", ".join(f"{k} {leaderboard.fmt(v)}" for k, v in row["metrics"].items())
                print(f"[benchmark]   {row['status']} in {row['wall_s']:.0f} s: {metrics or 'no test metrics'}; "
                      f"{leaderboard.fmt(row['tokens_per_s'])} train tokens/s; peak {row['peak_mem_mb']:.0f} MB; "
                      f"CPU share {row.get('cpu_share')}", flush=True)
            signals.check()  # an entry stopped by a signal gets no record: results.jsonl holds whole runs
            results.append(results_file, row)
            run.append(row)
            rows.append(row)
            if args.wandb:
                tracking.log_entry(row, suite.name, out)
        done[entry.name] = run
        current[entry.name] = summarize(run)

    shown = [summarize(run) for run in results.newest(results.read(results_file)).values()]
    board = leaderboard.write(shown, out, suite.name)
    print(f"[benchmark] results: {results_file}; leaderboard: {board}")
    if args.wandb:
        tracking.log_table(rows, suite.name, out)

    failed = [name for name, run in current.items() if run["status"] != "ok"]
    problems = []
    if baseline is not None:
        drop = suite.compare.get("max_throughput_drop")
        drop = (compare.DEFAULT_THROUGHPUT_DROP if drop is None else drop) if args.compare_throughput else None
        diffs = compare.compare({n: summarize(r) for n, r in baseline.items()}, current, suite.compare["tolerances"], drop,
                                allow_new=args.allow_new, expected={e.name for e in entries if e.name in baseline})
        problems = [d for d in diffs if d.failed]
        print(f"\n[benchmark] compared with {args.compare}: {len(problems)} failure(s)")
        for name, note in notes:
            if matches(args.only, name):
                print(f"[benchmark]   {name}: {note}")
        print(compare.render(diffs))
    if failed:
        print(f"[benchmark] failed entries: {', '.join(failed)}")
    if failed or problems:
        raise SystemExit(1)
