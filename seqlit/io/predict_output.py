"""Where `predict` writes, decided before the model runs, and the stream its JSON lines go into.

`check_output` refuses an output that is one of the run's inputs (compared as files: `st_dev`/`st_ino`), an
existing regular file without `--overwrite true`, a block device or a socket. `open_output` writes `-`, a FIFO
or a character device directly, and a regular file through a hidden temporary file renamed over it at the end
(a prefix of whole lines if interrupted). Rules and reasons: docs/predict.md.
"""

from __future__ import annotations

import io
import os
import stat
import tempfile
from typing import TextIO

from seqlit.errors import SeqlitError
from seqlit.io.storage import check_writable, fsync_folder, local_path, open_temporary, write_atomically


def _stat(path: str) -> os.stat_result | None:
    try:
        return os.stat(path)
    except OSError:
        return None


def _fstat(stream: TextIO | None) -> os.stat_result | None:
    try:
        return os.fstat(stream.fileno()) if stream is not None else None
    except (OSError, io.UnsupportedOperation):  # a stream with no file (tests pass a StringIO)
        return None


def check_output(output: str, inputs: dict[str, str | None], overwrite: bool, stdout: TextIO | None = None) -> None:
    """Refuse an unsafe `--predict_output` (see the module's docstring). `inputs`: option -> the path it names;
    `stdout`: the results stream, whose file is compared with the inputs when `output` is '-'."""
    if output == "-":
        target, where = _fstat(stdout), "standard output"
    else:
        path = local_path(output)
        if path is None:
            return  # a URL: written by fsspec's transaction, never one of the local inputs
        check_writable(output, "--predict_output")
        target, where = _stat(os.path.expanduser(path)), f"--predict_output {output!r}"
    if target is None:
        return
    for option, given in inputs.items():
        source = _stat(os.path.expanduser(str(given))) if given else None
        if source is not None and os.path.samestat(source, target) and stat.S_ISREG(target.st_mode):
            raise SeqlitError(f"{where} is the same file as {option} {str(given)!r} (device {target.st_dev}, "
                              f"inode {target.st_ino}): predicting would overwrite an input; name another output file")
    if output == "-":
        return
    mode = target.st_mode
    if stat.S_ISBLK(mode) or stat.S_ISSOCK(mode):
        kind = "a block device" if stat.S_ISBLK(mode) else "a socket"
        raise SeqlitError(f"--predict_output {output!r} is {kind}: name a regular file, a FIFO or a character "
                          "device such as /dev/null")
    if stat.S_ISREG(mode) and not overwrite:
        raise SeqlitError(f"--predict_output {output!r} exists ({target.st_size:,} bytes): pass --overwrite true to "
                          "replace it, or name another file")


def predict_inputs(config) -> dict[str, str | None]:
    """What a `predict` run reads (option -> path), from its parsed config: the output may be none of them."""
    data = config.get("data") or {}
    init_args = data.get("init_args") or {} if hasattr(data, "get") else {}
    inputs = {"--data.init_args.predict_file": init_args.get("predict_file"),
              "--ckpt_path": config.get("ckpt_path"),
              "--data.init_args.vocab_from": init_args.get("vocab_from")}
    for n, path in enumerate(config.get("config") or []):
        inputs[f"--config #{n + 1}"] = str(path)
    return inputs


class Output:
    """A text stream for JSON lines, and what becomes of it: `close()` when the work is done, `keep_prefix()`
    when it was interrupted (both leave only whole lines in place), `discard()` to leave nothing."""

    def __init__(self, stream: TextIO, tmp: str | None = None, target: str | None = None, owned: bool = True,
                 direct: bool = False):
        self.stream, self.tmp, self.target, self.owned, self.direct = stream, tmp, target, owned, direct

    def write(self, text: str) -> None:
        self.stream.write(text)

    def flush(self) -> None:
        """Lines written straight to a reader (standard output, a FIFO) reach it now, not at the end."""
        if self.direct:
            self.stream.flush()

    def close(self) -> None:
        self.stream.flush()
        if self.tmp is not None:
            os.fsync(self.stream.fileno())
        if self.owned:
            self.stream.close()
        if self.tmp is not None:
            os.replace(self.tmp, self.target)
            fsync_folder(os.path.dirname(self.target))
            self.tmp = None

    keep_prefix = close  # every write is whole lines: what was written so far is a valid prefix

    def discard(self) -> None:
        if self.owned:
            self.stream.close()
        if self.tmp is not None and os.path.exists(self.tmp):
            os.remove(self.tmp)
        self.tmp = None


class RemoteOutput(Output):
    """A URL: the lines are buffered in a local temporary file and written with fsspec's transaction at the end."""

    def close(self) -> None:
        self.stream.flush()
        self.stream.seek(0)
        write_atomically(self.target, lambda f: _copy(self.stream, f))
        self.discard()

    keep_prefix = close


def _copy(source: TextIO, f) -> None:
    for line in source:
        f.write(line.encode("utf-8"))


def open_output(output: str, results: TextIO) -> Output:
    """The `Output` for `--predict_output` (checked by `check_output`); `results` is the stream for '-'."""
    if output == "-":
        return Output(results, owned=False, direct=True)
    path = local_path(output)
    if path is None:
        return RemoteOutput(tempfile.TemporaryFile("w+", encoding="utf-8"), target=output)
    path = os.path.realpath(os.path.expanduser(path))  # a symlink: its target, written atomically
    existing = _stat(path)
    if existing is not None and not stat.S_ISREG(existing.st_mode):  # a FIFO, /dev/null, a terminal
        return Output(open(path, "w", encoding="utf-8"), direct=True)
    tmp, fd = open_temporary(path)
    return Output(open(fd, "w", encoding="utf-8"), tmp=tmp, target=path)

