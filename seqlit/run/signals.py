"""SIGTERM and Ctrl-C mean what a cluster means by them: stop soon, leave only whole files, exit 128 + signal.

While a command runs (`handled`), the first signal is recorded inside work that has a safe point to stop at
(`defer`: fit's steps, predict's batches, generate's tokens, benchmark's entries), which then stops there and
saves what it has; anywhere else it stops the command at once (`Interrupted`: nothing is written yet). A second
signal exits at once. Children (`forward_to`) get the first signal, and SIGKILL on the second. docs/resume.md.
"""

from __future__ import annotations

import contextlib
import os
import signal
import threading
from typing import Callable

HANDLED = (signal.SIGTERM, signal.SIGINT)

_received: list[int] = []  # the signals this command got, in order
_deferring: list[tuple[str, Callable[[int], None] | None]] = []  # (what the work stops after, hook), innermost last
_children: set[int] = set()


class Interrupted(BaseException):
    """The command was stopped by a signal; `seqlit.cli.main` exits 128 + `signum`. A BaseException, as
    KeyboardInterrupt is, so that no library's `except Exception` swallows it."""

    def __init__(self, signum: int):
        self.signum = signum
        super().__init__(f"stopped by {name(signum)}")


def name(signum: int) -> str:
    return signal.Signals(signum).name


def received() -> int | None:
    """The first signal this command got, or None."""
    return _received[0] if _received else None


def say(line: str) -> None:
    """One line on stderr, safe inside a signal handler (no buffered stream to re-enter)."""
    os.write(2, (line + "\n").encode("utf-8", "replace"))


def _kill_children(signum: int) -> None:
    for pid in list(_children):
        with contextlib.suppress(OSError):
            os.kill(pid, signum)


def _handle(signum: int, frame) -> None:
    if _received:
        say(f"[seqlit] second {name(signum)}: stopping now")
        _kill_children(signal.SIGKILL)
        os._exit(128 + signum)
    _received.append(signum)
    _kill_children(signum)
    if not _deferring:
        raise Interrupted(signum)
    what, hook = _deferring[-1]
    say(f"[seqlit] {name(signum)}: stopping after the current {what} (send it again to stop at once)")
    if hook is not None:
        hook(signum)


@contextlib.contextmanager
def handled():
    """Handle SIGTERM and SIGINT as above while the block runs (main thread only), then restore the handlers."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    _received.clear()
    _deferring.clear()
    _children.clear()
    previous = {s: signal.signal(s, _handle) for s in HANDLED}
    try:
        yield
    finally:
        for s, handler in previous.items():
            signal.signal(s, handler)


def defer(what: str, hook: Callable[[int], None] | None = None) -> object:
    """From now on a first signal waits for the work's next safe point, `what` ("training step", "batch"…);
    `hook(signum)` is called from the handler. Returns a token for `undefer`."""
    token = (what, hook)
    _deferring.append(token)
    return token


def undefer(token: object) -> None:
    if token in _deferring:
        _deferring.remove(token)


@contextlib.contextmanager
def deferred(what: str, hook: Callable[[int], None] | None = None):
    token = defer(what, hook)
    try:
        yield
    finally:
        undefer(token)


def check() -> None:
    """At a safe point: raise `Interrupted` if a signal came."""
    if _received:
        raise Interrupted(_received[0])


@contextlib.contextmanager
def forward_to(pid: int):
    """Send the signals this command gets to child process `pid` while the block runs."""
    _children.add(pid)
    try:
        yield
    finally:
        _children.discard(pid)
