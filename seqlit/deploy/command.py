"""`python -m seqlit export`: a checkpoint as a model folder that stands alone (seqlit/deploy/folder.py).

Flags are checked before torch is imported, so a typo is answered at once.
"""

from __future__ import annotations

import argparse

from seqlit.cli.commands import parse_flags
from seqlit.errors import SeqlitError


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m seqlit export", description=__doc__.splitlines()[0], exit_on_error=False)
    p.add_argument("--ckpt_path", help="(required) checkpoint written by `seqlit fit` (e.g. runs/…/checkpoints/last.ckpt)")
    p.add_argument("--out", help="(required) folder to write: model.safetensors, config.json, vocab.json, README.md")
    p.add_argument("--format", default="safetensors", choices=("safetensors", "onnx"),
                   help="onnx: also the ONNX graphs and runtime.json, for the torch-free seqlit.runtime (every task)")
    p.add_argument("--overwrite", default="false", choices=("true", "false"), help="replace a non-empty --out folder")
    return p


def main(argv: list[str]) -> None:
    args = parse_flags(build_parser(), argv, "export")
    for flag in ("ckpt_path", "out"):
        if not getattr(args, flag):
            raise SeqlitError(f"export: --{flag} is required (see python -m seqlit export --help)")
    from seqlit.deploy.folder import export

    out = export(args.ckpt_path, args.out, overwrite=args.overwrite == "true", onnx=args.format == "onnx")
    print(f"model folder written: {out}")
