"""The commands of `python -m seqlit`, and what it says when none, `--help` or a misspelt one is given.

Answered before torch or Lightning is imported, so `python -m seqlit --help`
is quick. LightningCLI's own top-level help knew only its four trainer
commands (and called itself "Lightning Trainer command line tool");
`generate` and `benchmark` are seqlit's, so the list is seqlit's too.
"""

from __future__ import annotations

import difflib
import sys

COMMANDS = {
    "fit": "train a model from a config (--config C); --ckpt_path resumes a run",
    "validate": "score a checkpoint on the validation split",
    "test": "score a checkpoint on the test split",
    "predict": "label or translate raw text with a checkpoint (--data.init_args.predict_file FILE)",
    "generate": "sample text from a language-model checkpoint",
    "benchmark": "run a benchmark suite, append its results, redraw the leaderboard",
}


def usage() -> str:
    width = max(map(len, COMMANDS))
    lines = [f"  {name:<{width}}  {text}" for name, text in COMMANDS.items()]
    return "\n".join([
        "usage: python -m seqlit COMMAND [options]",
        "",
        "Recurrent sequence models (RNN, GRU, LSTM), trained and used from YAML configs.",
        "",
        "commands:",
        *lines,
        "",
        "`python -m seqlit COMMAND --help` lists a command's options.",
    ])


def top_level(argv: list[str]) -> int | None:
    """The exit status when `argv` asks for no command to run (help, nothing, a misspelt command), else None."""
    if not argv:
        print(usage(), file=sys.stderr)
        print("seqlit: error: give a command", file=sys.stderr)
        return 2
    if argv[0] in ("-h", "--help"):
        print(usage())
        return 0
    if argv[0].startswith("-") or argv[0] in COMMANDS:
        return None
    close = difflib.get_close_matches(argv[0], COMMANDS, n=1, cutoff=0.5)
    hint = f"; did you mean {close[0]!r}?" if close else ""
    print(f"seqlit: error: unknown command {argv[0]!r}{hint} (commands: {', '.join(COMMANDS)}; "
          "`python -m seqlit --help` says what each does)", file=sys.stderr)
    return 2
