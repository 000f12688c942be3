"""`python -m seqlit serve`: an exported model folder behind HTTP, with dynamic batching (seqlit/deploy/server.py).

Flags are checked before anything heavy is imported; the model is loaded before the port is bound, so a folder
that is not a model folder is one line (exit 2) and never a half-started server.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from seqlit.cli.commands import parse_flags
from seqlit.errors import SeqlitError

POSITIVE = ("max_batch_size", "max_texts", "max_chars", "threads")


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m seqlit serve", description=__doc__.splitlines()[0], exit_on_error=False)
    p.add_argument("--model", help="(required) folder written by `python -m seqlit export`")
    p.add_argument("--port", type=int, default=8000, help="port to listen on (0: any free one; the line printed names it)")
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (0.0.0.0: every interface)")
    p.add_argument("--backend", default="auto", choices=("auto", "torch", "onnx"),
                   help="torch: seqlit.deploy.load; onnx: seqlit.runtime (needs --format onnx); auto: onnx when the "
                        "folder has model.onnx")
    p.add_argument("--max_batch_size", type=int, default=32, help="most texts in one forward pass")
    p.add_argument("--batch_timeout_ms", type=float, default=5.0,
                   help="how long the first request of a batch waits for others to join it")
    p.add_argument("--max_texts", type=int, default=128, help="most texts in one request (more: 413)")
    p.add_argument("--max_chars", type=int, default=5000, help="most characters in one text (more: 413)")
    p.add_argument("--threads", type=int, default=1, help="CPU threads of the forward pass (torch or onnxruntime)")
    p.add_argument("--drain_s", type=float, default=30.0,
                   help="after SIGTERM, how long requests in flight may take before they are cut")
    return p


def load_model(folder: str, backend: str, threads: int):
    """(the model, what /health says about it) for `backend`; a folder that is not a model folder is one line."""
    path = Path(folder)
    if backend == "auto":
        backend = "onnx" if (path / "model.onnx").is_file() else "torch"
    if backend == "onnx":
        from seqlit.runtime import ModelFolderError, load

        try:
            model = load(path, threads=threads)
        except ModelFolderError as err:
            raise SeqlitError(f"serve: {err}") from None
        task = json.loads((path / "config.json").read_text(encoding="utf-8"))["task"]["class_path"].rsplit(".", 1)[-1]
    else:
        import torch

        from seqlit.deploy import load

        torch.set_num_threads(threads)
        model = load(path)
        task = type(model).__name__
    if not callable(getattr(model, "predict_text", None)):
        raise SeqlitError(f"serve: the {task} of {str(path)!r} has no predict_text to serve")
    return model, {"task": task, "backend": backend, "model": str(path)}


def main(argv: list[str]) -> None:
    args = parse_flags(build_parser(), argv, "serve")
    if not args.model:
        raise SeqlitError("serve: --model is required (see python -m seqlit serve --help)")
    for flag in POSITIVE:
        if getattr(args, flag) < 1:
            raise SeqlitError(f"serve: --{flag} {getattr(args, flag)} must be at least 1")
    if args.batch_timeout_ms < 0 or args.drain_s < 0 or not 0 <= args.port <= 65535:
        raise SeqlitError("serve: --batch_timeout_ms and --drain_s must be >= 0, --port within 0-65535")
    model, about = load_model(args.model, args.backend, args.threads)
    from seqlit.deploy.batcher import Batcher
    from seqlit.deploy.server import Limits, build_app, listen, serve

    try:
        sock = listen(args.host, args.port)
    except OSError as err:
        raise SeqlitError(f"serve: cannot listen on {args.host}:{args.port} ({err.strerror or err}): "
                          "pick another --port (or stop what holds it)") from None
    limits = Limits(args.max_texts, args.max_chars)
    about |= {"max_batch_size": args.max_batch_size, "batch_timeout_ms": args.batch_timeout_ms,
              "max_texts": limits.max_texts, "max_chars": limits.max_chars}
    batcher = Batcher(model.predict_text, args.max_batch_size, args.batch_timeout_ms / 1000)
    host, port = sock.getsockname()[:2]
    print(f"seqlit serve: {about['task']} ({about['backend']}) on http://{host}:{port} "
          "(POST /predict, GET /health; SIGTERM drains)", flush=True)
    serve(build_app(batcher, limits, about), sock, args.drain_s)
    print("seqlit serve: stopped after the requests in flight", file=sys.stderr, flush=True)
