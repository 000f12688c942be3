"""One live run per run folder: a claim marker written with O_EXCL, naming the run that holds the folder.

Runs sharing `--trainer.default_root_dir` get their own folders from their loggers (a W&B run id, a CSV
version); where two would still write into one folder (an explicit id or version, the same checkpoint resumed
twice, no logger) the second is refused before training, in one line naming the first (pid, host). The marker
`.seqlit-run` holds "pid host"; one left by a dead process on this host is taken over; one from another host
cannot be checked from here and is refused with the path to delete. The holder removes its own marker at exit.
URL roots are not claimed (fsspec's mode "x" is not atomic on every store): give each run its own root there.
"""

from __future__ import annotations

import atexit
import os
import socket

from seqlit.errors import SeqlitError
from seqlit.storage import local_path

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
