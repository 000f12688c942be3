"""Checkpoints: atomic writes, weights-only loads, one-line errors for bad files."""

import os
import pickle

import pytest
import torch

from seqlit.io.checkpoints import SafeCheckpointIO, load_checkpoint
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


def test_stray_temporary_file_is_ignored_and_kept(tmp_path):
    # a killed writer's leftover, or another run's write in progress: no checkpoint glob matches it, and it is
    # not this writer's to delete
    stray = tmp_path / ".tmp-last.ckpt-deadbeef"
    stray.write_bytes(b"half a checkpoint")
    assert not list(tmp_path.glob("*.ckpt"))
    SafeCheckpointIO().save_checkpoint({"state_dict": {}, "epoch": 3}, tmp_path / "last.ckpt")
    assert sorted(p.name for p in tmp_path.iterdir()) == [stray.name, "last.ckpt"]
    assert stray.read_bytes() == b"half a checkpoint"
    assert load_checkpoint(tmp_path / "last.ckpt")["epoch"] == 3


def test_local_save_fsyncs_the_file_and_its_folder(tmp_path, monkeypatch):
    synced = []
    real_fsync = os.fsync
    monkeypatch.setattr(os, "fsync", lambda fd: (synced.append(os.path.isdir(f"/proc/self/fd/{fd}")), real_fsync(fd)))
    SafeCheckpointIO().save_checkpoint({"state_dict": {}}, tmp_path / "a.ckpt")
    assert synced == [False, True], "the file, then the folder holding the rename"


@pytest.mark.parametrize("umask", [0o022, 0o002, 0o077])
def test_checkpoints_follow_the_umask(tmp_path, umask):
    old = os.umask(umask)
    try:
        SafeCheckpointIO().save_checkpoint({"state_dict": {}}, tmp_path / "a.ckpt")
    finally:
        os.umask(old)
    assert (tmp_path / "a.ckpt").stat().st_mode & 0o777 == 0o666 & ~umask


@pytest.mark.parametrize("url", ["memory://bucket/run/checkpoints/a.ckpt", "file://{tmp}/run/checkpoints/a.ckpt"])
def test_save_and_load_on_fsspec_urls(tmp_path, url):
    import fsspec

    url = url.format(tmp=tmp_path)
    io = SafeCheckpointIO()
    io.save_checkpoint({"state_dict": {"w": torch.arange(3.0)}, "epoch": 1}, url)
    io.save_checkpoint({"state_dict": {"w": torch.arange(3.0)}, "epoch": 2}, url)  # over an existing one
    ckpt = io.load_checkpoint(url)
    assert ckpt["epoch"] == 2 and torch.equal(ckpt["state_dict"]["w"], torch.arange(3.0))
    fs, path = fsspec.core.url_to_fs(url)
    assert [p.rsplit("/", 1)[-1] for p in fs.ls(path.rsplit("/", 1)[0], detail=False)] == ["a.ckpt"]
    if url.startswith("memory://"):
        fs.rm("/bucket", recursive=True)


def test_failed_remote_save_leaves_no_file(monkeypatch):
    import fsspec

    fs = fsspec.filesystem("memory")

    def crash(*args, **kwargs):
        raise OSError("connection reset")

    monkeypatch.setattr(torch, "save", crash)
    with pytest.raises(OSError):
        SafeCheckpointIO().save_checkpoint({"state_dict": {}}, "memory://failed/a.ckpt")
    assert not fs.exists("/failed/a.ckpt")


def test_remote_loads_are_weights_only():
    import fsspec

    with fsspec.open("memory://evil/evil.ckpt", "wb") as f:
        torch.save({"state_dict": {}, "x": Boom()}, f)
    with pytest.raises(SeqlitError, match="could run code"):
        load_checkpoint("memory://evil/evil.ckpt")
    with pytest.raises(SeqlitError, match="does not exist"):
        load_checkpoint("memory://evil/nope.ckpt")
    fsspec.filesystem("memory").rm("/evil", recursive=True)
