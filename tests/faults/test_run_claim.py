"""A run folder held by another live run is refused in one line naming it; a dead run's claim is taken over; a CSV (or
TensorBoard: not installed here) logger without a version gets a `version_N` folder of its own, claimed by `os.mkdir`."""

from __future__ import annotations

import socket
import subprocess
import sys
from types import SimpleNamespace

import pytest
from pytorch_lightning.loggers import CSVLogger

from seqlit.run import claim as run_claim
from seqlit.errors import SeqlitError
from seqlit.run.claim import MARKER, claim, claim_version


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
    subprocess.run([sys.executable, "-c", f"from seqlit.run.claim import claim; claim({str(tmp_path)!r})"],
                   check=True, timeout=60)
    assert not (tmp_path / MARKER).exists()


def _trainer(*loggers, rank_zero: bool = True) -> SimpleNamespace:
    return SimpleNamespace(is_global_zero=rank_zero, loggers=list(loggers))


def test_loggers_on_one_root_get_their_own_versions(tmp_path):
    (tmp_path / "logs" / "version_4").mkdir(parents=True)  # an earlier run's
    first, second = CSVLogger(str(tmp_path), name="logs"), CSVLogger(str(tmp_path), name="logs")
    claim_version(_trainer(first))
    claim_version(_trainer(second))
    assert (first.version, second.version) == (5, 6)
    assert (tmp_path / "logs" / "version_5").is_dir() and (tmp_path / "logs" / "version_6").is_dir()


def test_a_version_taken_meanwhile_is_skipped(tmp_path, monkeypatch):
    (tmp_path / "logs" / "version_0").mkdir(parents=True)  # made by a run beside this one after the listing below
    monkeypatch.setattr(run_claim.os, "listdir", lambda path: [])
    logger = CSVLogger(str(tmp_path), name="logs")
    claim_version(_trainer(logger))
    assert logger.version == 1


def test_given_versions_other_ranks_and_url_roots_are_left_alone(tmp_path):
    given, other_rank = CSVLogger(str(tmp_path), version=7), CSVLogger(str(tmp_path))
    claim_version(_trainer(given))
    claim_version(_trainer(other_rank, rank_zero=False))  # Lightning broadcasts rank zero's version
    remote = CSVLogger("memory://concurrent-fits")
    claim_version(_trainer(remote))
    assert given.version == 7 and other_rank._version is None and remote._version is None
    assert not any(tmp_path.iterdir())


def test_a_file_url_root_is_claimed_as_the_local_folder_it_names(tmp_path):
    """`file://` is the local file system: the same O_EXCL marker and `os.mkdir` versions hold there."""
    holder = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        (tmp_path / MARKER).write_text(f"{holder.pid} {socket.gethostname()}")
        with pytest.raises(SeqlitError, match=rf"run folder {tmp_path} is held by another live run \(pid {holder.pid}"):
            claim(tmp_path.as_uri())
    finally:
        holder.kill()
        holder.wait()
    (tmp_path / "logs" / "version_0").mkdir(parents=True)
    first, second = CSVLogger(tmp_path.as_uri(), name="logs"), CSVLogger(tmp_path.as_uri(), name="logs")
    claim_version(_trainer(first))
    claim_version(_trainer(second))
    assert (first.version, second.version) == (1, 2)
