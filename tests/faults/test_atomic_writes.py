"""Runs sharing a folder: one writer's `write_atomically` must not delete another's temporary file."""

import os

import pytest

from seqlit.io.storage import TMP_PREFIX, write_atomically


def test_write_keeps_other_writers_temp_files(tmp_path):
    target = tmp_path / "results.json"
    other = tmp_path / f"{TMP_PREFIX}results.json-deadbeef"  # another process's write in progress
    other.write_bytes(b"half")
    write_atomically(target, lambda f: f.write(b"{}"))
    assert target.read_bytes() == b"{}"
    assert other.read_bytes() == b"half"


def test_failed_write_removes_only_its_own_temp_file(tmp_path):
    other = tmp_path / f"{TMP_PREFIX}last.ckpt-0badc0de"
    other.write_bytes(b"x")

    def broken(f):
        f.write(b"partial")
        raise OSError("disk full")

    with pytest.raises(OSError, match="disk full"):
        write_atomically(tmp_path / "last.ckpt", broken)
    assert sorted(os.listdir(tmp_path)) == [other.name]


def test_write_new_never_replaces(tmp_path):
    from seqlit.io.storage import write_new

    target = str(tmp_path / "config.yaml")
    assert write_new(target, lambda f: f.write(b"first"))
    assert not write_new(target, lambda f: f.write(b"second"))  # another run got the name first: it keeps it
    assert (tmp_path / "config.yaml").read_bytes() == b"first"
    assert os.listdir(tmp_path) == ["config.yaml"]  # no staged file left
