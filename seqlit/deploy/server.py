"""The HTTP side of `python -m seqlit serve`: FastAPI routes on uvicorn, requests checked, SIGTERM drained.

`POST /predict` takes `{"texts": [...]}` and answers `{"predictions": [...]}`, the records `predict_text` gives
for those texts, computed in batches shared with concurrent requests (seqlit/deploy/batcher.py). `GET /health`
names the task and back end and counts requests, texts and forward passes. Bad requests get a 4xx and
`{"error": "<one line>"}` (docs/deploy.md lists them); so do unknown paths and methods.

Signals go through `seqlit.run.signals` (the command line's handler, not uvicorn's): the first SIGTERM or Ctrl-C
closes the listening socket and lets the requests in flight finish (uvicorn's graceful shutdown), then the
command returns and exits 0; a second one exits at once.
"""

from __future__ import annotations

import contextlib
import json
import socket
from dataclasses import dataclass

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from seqlit.run import signals
from seqlit.deploy.batcher import Batcher


@dataclass(frozen=True)
class Limits:
    max_texts: int
    max_chars: int

    @property
    def max_body_bytes(self) -> int:
        """Room for max_texts texts of max_chars characters, each written as a 6-byte JSON escape, and the rest."""
        return self.max_texts * (6 * self.max_chars + 4) + 1024


class BadRequest(Exception):
    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status = status


JSON_TYPES = {dict: "object", list: "array", str: "string", int: "number", float: "number", bool: "boolean",
              type(None): "null"}


def json_type(value) -> str:
    return JSON_TYPES.get(type(value), type(value).__name__)


def error(status: int, message: str) -> JSONResponse:
    return JSONResponse({"error": " ".join(message.split())}, status_code=status)


async def read_body(request: Request, limit: int) -> bytes:
    """The body, refused (413) as soon as it passes `limit` bytes, whether or not a Content-Length says so."""
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise BadRequest(413, f"the request body is {int(declared)} bytes; this server takes at most {limit}")
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > limit:
            raise BadRequest(413, f"the request body is over {limit} bytes, the most this server takes")
    return bytes(body)


def parse_texts(body: bytes, limits: Limits) -> list[str]:
    """The texts of a /predict body, or `BadRequest` naming what is wrong with it."""
    try:
        payload = json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError) as err:
        raise BadRequest(400, f"the body is not valid JSON ({err}): send {{\"texts\": [\"...\"]}}") from None
    if not isinstance(payload, dict):
        raise BadRequest(422, f"the body is a JSON {json_type(payload)}, not an object: send {{\"texts\": [\"...\"]}}")
    if "texts" not in payload:
        raise BadRequest(422, "the body has no \"texts\" key: send {\"texts\": [\"...\"]}")
    texts = payload["texts"]
    if not isinstance(texts, list):
        raise BadRequest(422, f"\"texts\" is a JSON {json_type(texts)}, not a list of strings")
    if not texts:
        raise BadRequest(422, "\"texts\" is empty: send at least one text")
    if len(texts) > limits.max_texts:
        raise BadRequest(413, f"\"texts\" holds {len(texts)} texts; this server takes at most {limits.max_texts} "
                              "a request (--max_texts): split them")
    for i, text in enumerate(texts):
        if not isinstance(text, str):
            raise BadRequest(422, f"texts[{i}] is a JSON {json_type(text)}, not a string")
        if not text.strip():
            raise BadRequest(422, f"texts[{i}] is empty or only whitespace: send text to predict on")
        if len(text) > limits.max_chars:
            raise BadRequest(413, f"texts[{i}] has {len(text)} characters; this server takes at most "
                                  f"{limits.max_chars} (--max_chars)")
    return texts


def build_app(batcher: Batcher, limits: Limits, about: dict) -> FastAPI:
    """The routes; `about` (task, back end, limits) is what /health reports beside the batcher's counts."""

    @contextlib.asynccontextmanager
    async def lifespan(app):
        batcher.start()
        yield
        await batcher.stop()

    async def not_found(request, exc):
        return error(exc.status_code, f"{request.method} {request.url.path}: {exc.detail} (routes: POST /predict, GET /health)")

    app = FastAPI(title="seqlit serve", lifespan=lifespan, exception_handlers={404: not_found, 405: not_found})

    @app.get("/health")
    async def health():
        return {"status": "ok", **about, "stats": batcher.stats.as_dict()}

    @app.post("/predict")
    async def predict(request: Request):
        try:
            texts = parse_texts(await read_body(request, limits.max_body_bytes), limits)
        except BadRequest as err:
            return error(err.status, str(err))
        try:
            # the records are plain JSON already: JSONResponse skips FastAPI's jsonable_encoder walk over them
            return JSONResponse({"predictions": await batcher.predict(texts)})
        except Exception as err:  # the model failed on these texts: one line, not a traceback
            return error(500, f"prediction failed: {type(err).__name__}: {err}")

    return app


def listen(host: str, port: int) -> socket.socket:
    """The listening socket, bound before the server starts so that a port in use is one line (OSError).

    IPPROTO_TCP, not 0: asyncio sets TCP_NODELAY only on sockets whose proto says TCP, and without it a response
    written in two parts waits ~40 ms for the client's delayed ACK (bench/serve_load.py measured it)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError:
        sock.close()
        raise
    sock.listen(2048)
    return sock


def serve(app: FastAPI, sock: socket.socket, drain_s: float) -> None:
    """Serve on `sock` until the first SIGTERM/SIGINT, then drain (at most `drain_s` seconds) and return."""
    import uvicorn

    class Server(uvicorn.Server):
        @contextlib.contextmanager
        def capture_signals(self):  # seqlit.run.signals handles them (below), and does not re-raise them after
            yield

    server = Server(uvicorn.Config(app, log_level="warning", access_log=False, lifespan="on",
                                   timeout_graceful_shutdown=drain_s))

    def drain(signum: int) -> None:
        server.should_exit = True

    with signals.deferred("requests in flight", drain):
        server.run(sockets=[sock])
