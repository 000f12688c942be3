"""Writing run files (checkpoints, predictions, configs) so that a reader never sees half of one.

Locally: a hidden `.tmp-<name>-<random>` file beside the target (never ending in `.ckpt`, mode 0666 minus the
umask), fsync'ed, renamed over the target, then the folder fsync'ed; a writer removes only its own temporary
file (another may be in progress). A full disk or file-size limit leaves the previous target as it was, in one
line. fsspec URLs use fsspec's transaction. docs/cluster.md, "Remote storage".
"""

from __future__ import annotations

import errno
import io
import os
import secrets
import shutil
from typing import BinaryIO, Callable

from fsspec.core import url_to_fs
from fsspec.implementations.local import LocalFileSystem

from seqlit.errors import SeqlitError

TMP_PREFIX = ".tmp-"
NO_SPACE = (errno.ENOSPC, errno.EFBIG, errno.EDQUOT)  # the write cannot succeed until space (or a limit) is freed


def get_filesystem(target: str | os.PathLike):
    """The fsspec file system of `target` (what Lightning's `get_filesystem` returns, without importing Lightning)."""
    return url_to_fs(str(target))[0]


def tried(path: str | os.PathLike, in_configs: bool = True) -> str:
    """Where a local `path` was looked for, for "does not exist" messages: relative paths (in configs too:
    `in_configs` says so) are read from the working directory, as on the command line, not from the config
    file's folder."""
    absolute = os.path.abspath(os.path.expanduser(os.fspath(path)))
    if os.path.isabs(os.path.expanduser(os.fspath(path))):
        return f"looked for {absolute}"
    note = ", not from the config file's folder" if in_configs else ""
    return f"looked for {absolute}: a relative path is read from the working directory {os.getcwd()}{note}"


def check_writable(target: str, option: str) -> None:
    """Refuse, before any work, a local output file that cannot be written (`option` names where it was given):
    a folder, or a path under a file. A missing folder is fine: `write_atomically` creates it."""
    path = local_path(target)
    if path is None:
        return  # a URL: the file system says at write time
    path = os.path.abspath(os.path.expanduser(path))
    if os.path.isdir(path):
        raise SeqlitError(f"{option} {target!r} is a folder ({path}): name a file, e.g. {os.path.join(target, 'predictions.jsonl')}")
    existing = os.path.dirname(path)
    while not os.path.exists(existing):
        existing = os.path.dirname(existing)
    if not os.path.isdir(existing):
        raise SeqlitError(f"{option} {target!r} cannot be written: {existing} is a file, not a folder; pass another path")
    if not os.access(existing, os.W_OK | os.X_OK):
        raise SeqlitError(f"{option} {target!r} cannot be written: folder {existing} is not writable; pass another path")


def check_root(root: str, option: str = "--trainer.default_root_dir") -> None:
    """Refuse a local run root below a regular file (any path component a file): nothing could be written there."""
    path = local_path(str(root))
    if path is None:
        return  # a URL: the file system says at write time
    existing = os.path.abspath(os.path.expanduser(path))
    while not os.path.exists(existing) and os.path.dirname(existing) != existing:
        existing = os.path.dirname(existing)
    if not os.path.isdir(existing):
        raise SeqlitError(f"{option} {root!r} cannot hold a run: {existing} is a file, not a folder; pass another folder")


def local_path(target: str) -> str | None:
    """The local path `target` names (a plain path or a `file://` URL), or None if it is remote."""
    fs = get_filesystem(target)
    return fs._strip_protocol(target) if isinstance(fs, LocalFileSystem) else None


class _TempFile(io.FileIO):
    """The temporary file, remembering its first failed write: torch.save reports a full disk as a RuntimeError
    ("unexpected pos …") that has lost the OSError, and the one line must still say what happened."""

    error: OSError | None = None

    def write(self, data) -> int:
        try:
            return super().write(data)
        except OSError as err:
            self.error = self.error or err
            raise


def write_atomically(target: str | os.PathLike, write: Callable[[BinaryIO], None]) -> None:
    """Call `write(f)` on a binary file whose contents become `target` only once `write` has returned."""
    target = os.fspath(target)
    path = local_path(target)
    if path is None:
        fs = get_filesystem(target)
        parent = fs._parent(target)
        if parent:
            fs.makedirs(parent, exist_ok=True)
        buffer = io.BytesIO()  # torch.save and friends want a seekable file; remote ones may not be
        write(buffer)
        with fs.transaction, fs.open(target, "wb") as f:
            f.write(buffer.getbuffer())
        return
    tmp, fd = open_temporary(path)
    raw = None
    try:
        raw = _TempFile(fd, "wb")
        with io.BufferedWriter(raw) as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException as err:
        if os.path.exists(tmp):
            os.remove(tmp)
        cause = err if isinstance(err, OSError) else getattr(raw, "error", None)
        if cause is not None and cause.errno in NO_SPACE:
            raise no_space(path, cause) from err
        raise
    fsync_folder(os.path.dirname(os.path.abspath(path)))


def open_temporary(path: str) -> tuple[str, int]:
    """(name, descriptor) of a new hidden temporary file beside local `path` (its folder created), mode 0666
    minus the umask: what `write_atomically` writes, and what `predict` streams its lines into."""
    folder, name = os.path.split(os.path.abspath(path))
    os.makedirs(folder, exist_ok=True)
    tmp = os.path.join(folder, f"{TMP_PREFIX}{name}-{secrets.token_hex(4)}")
    return tmp, os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)


def fsync_folder(folder: str) -> None:
    """Make a rename in `folder` survive a power loss."""
    fd = os.open(folder or ".", os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def no_space(path: str, err: OSError) -> SeqlitError:
    """The one line for a write that ran out of room: the file, the reason and the free space of its disk."""
    free = shutil.disk_usage(os.path.dirname(path)).free
    return SeqlitError(f"could not write {path}: {os.strerror(err.errno)} ({free / 2**20:.1f} MiB free on its disk); "
                       "the previous file, if any, is unchanged: free some space (or raise the file-size limit, "
                       "`ulimit -f`) and run again, or write elsewhere (--trainer.default_root_dir)")


def write_new(target: str, write: Callable[[BinaryIO], None]) -> bool:
    """`write_atomically` that never replaces: False (nothing written) when `target` exists. Locally the complete
    temporary file is hard-linked to `target`, which fails if another process got there first (no race between
    a check and the write); on a URL the check is fs.exists, not atomic (docs/cluster.md)."""
    path = local_path(target)
    if path is None:
        if get_filesystem(target).exists(target):
            return False
        write_atomically(target, write)
        return True
    folder, name = os.path.split(os.path.abspath(path))
    staged = os.path.join(folder, f"{TMP_PREFIX}new-{name}-{secrets.token_hex(4)}")  # never itself a target
    write_atomically(staged, write)
    try:
        os.link(staged, path)
    except FileExistsError:
        return False
    finally:
        os.remove(staged)
    return True
