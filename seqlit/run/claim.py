"""One live run per run folder: a claim marker written with O_EXCL, naming the run that holds the folder.

`claim_version` takes a CSV / TensorBoard `version_N` by `os.mkdir` (Lightning would list the folder, and two
runs starting together would take the same N). A second live run in one folder is refused before training,
naming the first; the marker `.seqlit-run` ("pid host") of a dead process on this host is taken over, one from
another host is refused. A `file://` root is claimed as the local folder it names; other URL roots are not claimed: their mkdir is not
atomic everywhere (docs/cluster.md).
"""

from __future__ import annotations

import atexit
import os
import socket

from lightning_fabric.loggers import CSVLogger, TensorBoardLogger

from seqlit.errors import SeqlitError
from seqlit.io.storage import local_path

MARKER = ".seqlit-run"


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # another user's live process
    return True


def claim(folder: str) -> None:
    """Hold `folder` for this process, or refuse (SeqlitError) when another live run holds it."""
    local = local_path(str(folder))
    if local is None:
        return
    os.makedirs(local, exist_ok=True)
    marker, mine = os.path.join(local, MARKER), f"{os.getpid()} {socket.gethostname()}"
    while True:
        try:
            fd = os.open(marker, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
        except FileExistsError:
            try:
                with open(marker, encoding="utf-8") as f:
                    held = f.read().split()
            except FileNotFoundError:
                continue  # released meanwhile: try again
            pid, host = (int(held[0]), held[1]) if len(held) == 2 and held[0].isdigit() else (None, None)
            if f"{pid} {host}" == mine:
                return
            if host == socket.gethostname() and pid is not None and not _alive(pid):
                os.remove(marker)  # left by a run that died: take over
                continue
            where = f"pid {pid} on host {host}" if pid is not None else "an unreadable claim"
            raise SeqlitError(f"run folder {local} is held by another live run ({where}, {marker}): wait for it to end, "
                              "or give this run its own folder (another --trainer.default_root_dir, or leave the "
                              "logger's id/version unset); if that run is dead, delete the marker")
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(mine)
        atexit.register(_release, marker, mine)
        return


def _release(marker: str, mine: str) -> None:
    try:
        with open(marker, encoding="utf-8") as f:
            if f.read() == mine:
                os.remove(marker)
    except FileNotFoundError:
        pass


def claim_version(trainer) -> None:
    """Give each CSV / TensorBoard logger of `trainer` that has no version yet its own `version_N` folder, made
    with `os.mkdir` (the next number on FileExistsError), before the loggers or checkpoint callbacks read it.
    Rank zero only: Lightning broadcasts its version to the other ranks. Local roots only (see above)."""
    if not trainer.is_global_zero:
        return
    for logger in trainer.loggers:
        if not isinstance(logger, (CSVLogger, TensorBoardLogger)) or logger._version is not None:
            continue  # W&B (a random id), or a version the user gave or a resumed run's
        root = local_path(str(logger.root_dir))
        if root is None:
            continue
        os.makedirs(root, exist_ok=True)
        taken = [int(name[8:]) for name in os.listdir(root) if name.startswith("version_") and name[8:].isdigit()]
        version = max(taken, default=-1) + 1
        while True:
            try:
                os.mkdir(os.path.join(root, f"version_{version}"))
                break
            except FileExistsError:  # taken meanwhile by a run starting beside this one
                version += 1
        logger._version = version  # Lightning's own lazy slot: set here, it is never listed again
