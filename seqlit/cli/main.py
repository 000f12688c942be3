"""The entry point of `python -m seqlit` (and the `seqlit` script): dispatch, and bad input as one line.

Light on purpose: help, a missing or misspelt command (`seqlit.cli.commands`), and `generate` / `benchmark` /
`export` / `serve` start without LightningCLI, the data modules and the tasks (`seqlit.cli.trainer`), which the trainer commands
(fit, validate, test, predict) import when they run.
"""

from __future__ import annotations

import argparse
import os
import sys

from seqlit.run import signals
from seqlit.run.allocation import allocation_failure
from seqlit.cli.commands import top_level
from seqlit.cli.config_errors import summarize
from seqlit.cli.config_source import with_source
from seqlit.errors import SeqlitError
from seqlit.cli.prechecks import precheck


def run(argv: list[str]) -> None:
    if argv and argv[0] == "generate":
        from seqlit.cli.generate import main as generate_main

        return generate_main(argv[1:])
    if argv and argv[0] == "benchmark":
        from seqlit.benchmark.command import main as benchmark_main

        return benchmark_main(argv[1:])
    if argv and argv[0] == "export":
        from seqlit.deploy.command import main as export_main

        return export_main(argv[1:])
    if argv and argv[0] == "serve":
        from seqlit.deploy.serve_command import main as serve_main

        return serve_main(argv[1:])
    from seqlit.cli.trainer import run_cli

    return run_cli(argv)


def user_error(err: BaseException) -> str | None:
    """The one-line message if `err` (or what caused it) is bad input, else None."""
    chain, seen = [], err
    while seen is not None and seen not in chain:
        if isinstance(seen, SeqlitError):
            return str(seen)
        chain.append(seen)
        seen = seen.__cause__ or seen.__context__
    oom = allocation_failure(chain)
    if oom is not None:
        return oom
    if isinstance(err, argparse.ArgumentError):
        return summarize(str(err))
    if type(err).__name__ == "MisconfigurationException":  # Lightning's own "this trainer setting is invalid"
        return f"trainer: {' '.join(str(err).split())}"
    if type(err).__module__.startswith("wandb.errors"):  # W&B failing later than seqlit.run.wandb_online can see
        return (f"W&B: {' '.join(str(err).split())}; to log offline and upload later: WANDB_MODE=offline, "
                "then `wandb sync runs/wandb/offline-run-…`")
    return None


def main(argv: list[str] | None = None) -> None:
    """Run the command; bad input exits 2 with one line (SEQLIT_DEBUG=1 shows the traceback); a command
    stopped by a signal exits 128 + its number (seqlit/run/signals.py)."""
    os.environ.setdefault("WANDB_MODE", "offline")  # never wait on the network or a login unless asked
    argv = sys.argv[1:] if argv is None else argv
    status = top_level(argv)
    if status is not None:
        sys.exit(status)
    try:
        precheck(argv)  # a missing config or checkpoint file, before the import of torch
        with signals.handled():
            run(argv)
    except BaseException as err:
        signum = signals.received()
        if signum is not None:  # stopped by SIGTERM / Ctrl-C (seqlit/run/signals.py): whatever it raised on the way
            sys.exit(128 + signum)
        if not isinstance(err, Exception):
            raise
        message = user_error(err)
        if message is None or os.environ.get("SEQLIT_DEBUG") == "1":
            raise
        print(f"seqlit: error: {with_source(message, argv)}", file=sys.stderr)
        sys.exit(2)
