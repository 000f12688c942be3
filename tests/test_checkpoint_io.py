"""Checkpoints: atomic writes, weights-only loads, one-line errors for bad files."""

import os
import pickle

import pytest
import torch

from seqlit.checkpoint_io import SafeCheckpointIO, load_checkpoint
from seqlit.errors import SeqlitError


class Boom:
    def __reduce__(self):
        return (os.system, ("echo pwned > pwned.txt",))


def test_save_is_atomic_and_loads(tmp_path):
    path = tmp_path / "sub" / "a.ckpt"
    SafeCheckpointIO().save_checkpoint({"state_dict": {"w": torch.ones(2)}, "epoch": 1}, path)
    assert load_checkpoint(path)["epoch"] == 1
    assert [p.name for p in path.parent.iterdir()] == ["a.ckpt"], "no temporary file left behind"


def test_failed_save_keeps_the_old_file(tmp_path, monkeypatch):
    path = tmp_path / "a.ckpt"
    io = SafeCheckpointIO()
    io.save_checkpoint({"state_dict": {}, "epoch": 1}, path)

    def crash(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(torch, "save", crash)
    with pytest.raises(OSError):
        io.save_checkpoint({"state_dict": {}, "epoch": 2}, path)
    assert load_checkpoint(path)["epoch"] == 1
    assert len(list(tmp_path.iterdir())) == 1


def test_truncated_checkpoint_is_one_line(tmp_path):
    path = tmp_path / "a.ckpt"
    torch.save({"state_dict": {"w": torch.randn(1000)}}, path)
    path.write_bytes(path.read_bytes()[:500])
    with pytest.raises(SeqlitError, match="corrupt, truncated"):
        load_checkpoint(path)


def test_pickled_code_is_refused(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    path = tmp_path / "evil.ckpt"
    torch.save({"state_dict": {}, "x": Boom()}, path)
    with pytest.raises(SeqlitError, match="could run code"):
        load_checkpoint(path)
    torch.save({"state_dict": {}, "x": Boom()}, path, pickle_protocol=pickle.HIGHEST_PROTOCOL)
    with pytest.raises(SeqlitError):
        load_checkpoint(path)
    assert not (tmp_path / "pwned.txt").exists()


def test_missing_and_foreign_files(tmp_path):
    with pytest.raises(SeqlitError, match="does not exist"):
        load_checkpoint(tmp_path / "nope.ckpt")
    torch.save({"weights": 1}, tmp_path / "plain.pt")
    with pytest.raises(SeqlitError, match="not a Lightning checkpoint"):
        load_checkpoint(tmp_path / "plain.pt")
