"""How big seqlit/ and data_modules/ are at git revisions: all lines, and code lines (no docstring, comment or blank).

The modular-core issue set a size budget ("about 6.5k lines in seqlit/ and data_modules/"); this prints the
figure for each revision given, per package folder, read from git (the working tree is not looked at):

    python bench/code_size.py bfd353a HEAD

With `--commits A..B` it prints instead what each non-merge commit of that range added or removed (against its
own parent, so a branch's commits count once and merges not at all): which change the size budget went to.

    python bench/code_size.py --commits bfd353a..HEAD
"""

from __future__ import annotations

import argparse
import ast
import io
import subprocess
import tokenize
from collections import defaultdict

ROOTS = ("seqlit", "data_modules")
SKIP = {tokenize.COMMENT, tokenize.NL, tokenize.NEWLINE, tokenize.INDENT, tokenize.DEDENT, tokenize.ENDMARKER}


def code_lines(source: str) -> int:
    """Lines holding a token that is neither a comment nor part of a docstring."""
    docstrings = set()
    for node in ast.walk(ast.parse(source)):
        body = getattr(node, "body", None)
        if isinstance(body, list) and body and isinstance(body[0], ast.Expr) \
                and isinstance(body[0].value, ast.Constant) and isinstance(body[0].value.value, str):
            docstrings.update(range(body[0].lineno, body[0].end_lineno + 1))
    lines = set()
    for tok in tokenize.generate_tokens(io.StringIO(source).readline):
        if tok.type not in SKIP:
            lines.update(range(tok.start[0], tok.end[0] + 1))
    return len(lines - docstrings)


def git(*args: str) -> str:
    return subprocess.run(["git", *args], capture_output=True, text=True, check=True).stdout


def sizes(rev: str) -> dict[str, tuple[int, int]]:
    """folder -> (lines, code lines) of its .py files at `rev`."""
    out: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for path in git("ls-tree", "-r", "--name-only", rev, *ROOTS).split():
        if path.endswith(".py"):
            source = git("show", f"{rev}:{path}")
            folder = path.rsplit("/", 1)[0]
            out[folder][0] += source.count("\n")
            out[folder][1] += code_lines(source)
    return {k: (v[0], v[1]) for k, v in sorted(out.items())}


def main(revs: list[str]) -> None:
    table = {rev: sizes(rev) for rev in revs}
    folders = sorted({f for t in table.values() for f in t})
    print("| folder | " + " | ".join(f"{r} lines / code" for r in revs) + " |")
    print("|---|" + "---:|" * len(revs))
    for f in folders + ["total"]:
        cells = []
        for rev in revs:
            t = table[rev]
            lines, code = (sum(v[0] for v in t.values()), sum(v[1] for v in t.values())) if f == "total" else t.get(f, (0, 0))
            cells.append(f"{lines:,} / {code:,}")
        print(f"| {f} | " + " | ".join(cells) + " |")


def total(rev: str) -> tuple[int, int]:
    t = sizes(rev).values()
    return sum(v[0] for v in t), sum(v[1] for v in t)


def commits(span: str) -> None:
    """One row per non-merge commit in `span` that changed the size: +lines, +code lines, its subject."""
    print("| lines | code | commit |")
    print("|---:|---:|---|")
    for rev in git("rev-list", "--reverse", "--no-merges", span).split():
        after, before = total(rev), total(rev + "^")
        if after != before:
            subject = git("log", "-1", "--format=%h %s", rev).strip()
            print(f"| {after[0] - before[0]:+,} | {after[1] - before[1]:+,} | {subject[:100]} |")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter, epilog=__doc__)
    parser.add_argument("revs", nargs="*", default=["HEAD"], help="git revisions to size (default: HEAD)")
    parser.add_argument("--commits", metavar="A..B", help="instead: what each non-merge commit of the range changed")
    args = parser.parse_args()
    if args.commits:
        commits(args.commits)
    else:
        main(args.revs)
