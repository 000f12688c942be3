"""The commands of `python -m seqlit`, and what it says when none, `--help` or a misspelt one is given.

Answered before torch or Lightning is imported, so `python -m seqlit --help` is quick; the list includes
seqlit's own `generate` and `benchmark`, which LightningCLI's help does not know.
"""

from __future__ import annotations

import argparse
import difflib
import sys

COMMANDS = {
    "fit": "train a model from a config (--config C); --ckpt_path resumes a run",
    "validate": "score a checkpoint on the validation split",
    "test": "score a checkpoint on the test split",
    "predict": "label or translate raw text with a checkpoint (--data.init_args.predict_file FILE)",
    "generate": "sample text from a language-model checkpoint",
    "benchmark": "run a benchmark suite, append its results, redraw the leaderboard",
    "export": "write a checkpoint as a model folder (safetensors weights, JSON config, vocabulary, model card)",
    "serve": "serve a model folder over HTTP (POST /predict, GET /health) with dynamic batching",
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


def underscored(argv: list[str], parser: argparse.ArgumentParser) -> list[str]:
    """`--data-root X` and `--data-root=X` as `--data_root`: the dashed spelling of a known flag, accepted."""
    known = {s for action in parser._actions for s in action.option_strings}
    out = []
    for arg in argv:
        flag, eq, value = arg.partition("=")
        spelt = "--" + flag[2:].replace("-", "_")
        out.append(spelt + eq + value if flag.startswith("--") and spelt in known else arg)
    return out


def boolean(text: str) -> bool:
    """An argparse `type` for true/false flags (`--wandb false`); 1/0 and yes/no too."""
    if text.lower() in ("true", "1", "yes"):
        return True
    if text.lower() in ("false", "0", "no"):
        return False
    raise argparse.ArgumentTypeError(f"expected true or false, got {text!r}")


def parse_flags(parser: argparse.ArgumentParser, argv: list[str], command: str) -> argparse.Namespace:
    """The flags of seqlit's own argparse commands (generate, benchmark): either spelling, and bad input as one
    line naming the flag (argparse would print a usage block). The parser needs `exit_on_error=False`."""
    from seqlit.errors import SeqlitError

    try:
        args, extra = parser.parse_known_args(underscored(argv, parser))
    except argparse.ArgumentError as err:
        raise SeqlitError(f"{command}: {err} (see python -m seqlit {command} --help)") from None
    if extra:
        raise SeqlitError(f"{command}: unrecognized arguments: {' '.join(extra)} (see python -m seqlit {command} --help)")
    return args
