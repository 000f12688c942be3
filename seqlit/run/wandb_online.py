"""`WANDB_MODE=online` where W&B cannot be used: log offline, say so in one line, and train anyway.

Before the run starts, a TCP probe of the W&B host (at most `PROBE_S` seconds; skipped behind a proxy) and, if
it answers, an immediate W&B start, so a missing key shows before training. Either failing, the run logs
offline. Why (wandb waited minutes, then a traceback): docs/run_plumbing.md; the cases: docs/errors.md.
"""

from __future__ import annotations

import os
import socket
import sys
import threading
from urllib.parse import urlparse

PROBE_S = 5.0
PROXIES = ("HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy", "ALL_PROXY", "all_proxy")


def unreachable(url: str, timeout: float = PROBE_S) -> str | None:
    """Why `url`'s host takes no TCP connection within `timeout` seconds (name lookup included), or None if it does."""
    parsed = urlparse(url)
    host, port = parsed.hostname, parsed.port or (443 if parsed.scheme == "https" else 80)
    if not host:
        return f"{url!r} names no host"
    outcome: dict[str, object] = {}

    def connect() -> None:
        try:
            socket.create_connection((host, port), timeout=timeout).close()
            outcome["ok"] = True
        except OSError as err:
            outcome["error"] = err

    # getaddrinfo has no timeout of its own: the whole attempt runs in a thread that is given up on
    probe = threading.Thread(target=connect, daemon=True)
    probe.start()
    probe.join(timeout)
    if outcome.get("ok"):
        return None
    error = outcome.get("error")
    return f"{host}:{port}: {error.strerror or error}" if isinstance(error, OSError) else \
        f"{host}:{port}: no answer in {timeout:.0f} s"


def go_offline(logger, why: str) -> None:
    os.environ["WANDB_MODE"] = "offline"
    logger._wandb_init["mode"] = "offline"  # wandb's settings were read already: the environment alone is too late
    logger._experiment = None
    folder = os.path.join(logger.save_dir or ".", "wandb")
    print(f"[seqlit] W&B online is not possible ({why}): logging offline to {folder} instead; "
          f"upload it later with `wandb sync {folder}/offline-run-…`", file=sys.stderr)


def wants_online(logger) -> bool:
    from pytorch_lightning.loggers import WandbLogger

    mode = os.environ.get("WANDB_MODE", "online")  # seqlit.cli.main.main sets offline unless the user chose
    return (isinstance(logger, WandbLogger) and mode in ("online", "run") and not logger._offline
            and logger._wandb_init.get("mode") != "offline")


def offline_as_mode(trainer_config) -> None:
    """`offline: true` on a WandbLogger becomes wandb's own `mode: offline` (in place). Lightning refuses `offline`
    with `log_model` ("checkpoints cannot be uploaded in offline mode"), yet wandb keeps an offline run's artifacts
    for `wandb sync` to upload, as it does its metrics."""
    loggers = trainer_config.get("logger")
    for logger in loggers if isinstance(loggers, list) else [loggers]:
        args = getattr(logger, "init_args", None)
        if args is not None and str(logger.class_path).endswith("WandbLogger") and args.get("offline"):
            args["offline"], args["mode"] = False, "offline"


def offline_unless_reachable(loggers) -> None:
    """For each W&B logger meant to log online: start its run now, or switch to offline with one line saying why."""
    for logger in loggers:
        if not wants_online(logger) or logger._experiment is not None:
            continue
        import wandb

        url = os.environ.get("WANDB_BASE_URL") or wandb.Settings().base_url
        why = None if any(os.environ.get(p) for p in PROXIES) else unreachable(url)
        if why is None:
            try:
                logger.experiment  # noqa: B018 -- starts the run: a refused login fails here, not mid-training
                continue
            except wandb.errors.Error as err:
                why = " ".join(str(err).split())
        else:
            why = f"cannot reach {why}"
        go_offline(logger, why)
