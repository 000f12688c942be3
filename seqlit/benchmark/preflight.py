"""Every entry's training config, parsed as its `fit` will parse it, before the first entry trains.

A typo in entry 5 should cost seconds, not four entries' training. All entries parse in one child process
(`python -m seqlit.benchmark.preflight`), never in the benchmark's own: torch resident there would be counted
in every entry's peak memory. Why in full: docs/benchmark.md.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from dataclasses import replace

from seqlit.benchmark import dependencies
from seqlit.benchmark.runner import fit_command
from seqlit.benchmark.schema import Entry
from seqlit.errors import SeqlitError


def check_configs(entries: list[Entry], suite_path: str, out: str, data_root: str | None) -> None:
    """One line naming the suite, the entry and the key (and its source) for the first entry that does not parse."""
    jobs = []
    for entry in entries:
        held = {key for key, _, _ in dependencies.placeholders(entry.overrides)}
        entry = replace(entry, overrides={k: v for k, v in entry.overrides.items() if k not in held})
        jobs.append((entry.name, fit_command(entry, out, "preflight", data_root, (entry.seeds or (None,))[0])[3:]))
    proc = subprocess.run([sys.executable, "-m", "seqlit.benchmark.preflight"], input=json.dumps(jobs),
                          capture_output=True, text=True, timeout=600)
    if proc.returncode == 2 and proc.stdout.strip():
        raise SeqlitError(f"{suite_path}: {proc.stdout.strip().splitlines()[-1]}")
    if proc.returncode != 0:
        raise RuntimeError(f"checking the entries' configs failed (exit {proc.returncode}):\n{proc.stderr[-3000:]}")


class Parsed(Exception):
    """The command line parsed; raised where `fit` would start seeding and building."""


def _parsed(cli) -> None:
    raise Parsed


def parse(argv: list[str]) -> None:
    """`fit ARGV` parsed as `seqlit.cli.main` parses it, and no further; bad input raises SeqlitError with its one line."""
    from seqlit.cli import trainer as cli
    from seqlit.cli.config_errors import summarize
    from seqlit.cli.config_source import with_source

    cli.SeqlitCLI._set_seed = _parsed  # this child only parses: stop right after `parse_arguments`
    try:
        cli.run_cli(argv)
    except Parsed:
        return
    except argparse.ArgumentError as err:  # what `seqlit.cli.main` prints as one line
        raise SeqlitError(with_source(summarize(str(err)), argv)) from None
    except SeqlitError as err:
        raise SeqlitError(with_source(str(err), argv)) from None
    raise RuntimeError(f"fit {' '.join(argv)} did not stop after parsing")


def main() -> None:
    """The child: (entry name, fit argv) pairs as JSON on stdin; the first failure as one line on stdout, exit 2."""
    for name, argv in json.load(sys.stdin):
        try:
            parse(argv)
        except SeqlitError as err:
            print(f"entry {name}: {err}")
            sys.exit(2)


if __name__ == "__main__":
    main()
