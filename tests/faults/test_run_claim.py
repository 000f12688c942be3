"""A run folder held by another live run is refused in one line naming it; a dead run's claim is taken over."""

from __future__ import annotations

import socket
import subprocess
import sys

import pytest

from seqlit.errors import SeqlitError
from seqlit.run_claim import MARKER, claim


def test_live_holder_is_refused_and_named(tmp_path):
    holder = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        (tmp_path / MARKER).write_text(f"{holder.pid} {socket.gethostname()}")
        with pytest.raises(SeqlitError, match=rf"held by another live run \(pid {holder.pid} on host {socket.gethostname()}"):
            claim(str(tmp_path))
    finally:
        holder.kill()
        holder.wait()
    claim(str(tmp_path))  # the holder is dead now: its claim is taken over
    assert (tmp_path / MARKER).read_text().split()[1] == socket.gethostname()


def test_two_claims_by_one_process_agree(tmp_path):
    claim(str(tmp_path))
    claim(str(tmp_path))  # a resumed run's own folder: held already by this process, not refused


def test_a_run_ending_releases_its_folder(tmp_path):
    subprocess.run([sys.executable, "-c", f"from seqlit.run_claim import claim; claim({str(tmp_path)!r})"],
                   check=True, timeout=60)
    assert not (tmp_path / MARKER).exists()
