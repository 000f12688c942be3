"""`--predict_output` is never one of the run's inputs, never replaces an existing file unasked, and writes into
special files (a FIFO, a character device, standard output) rather than replacing them; a symlink stays a link.

Unit tests of seqlit/io/predict_output.py (the CLI calls `check_output` before anything is instantiated, and the
writer streams into `open_output`'s `Output`); tests/faults/test_predict_stream.py runs the same cases end to end.
"""

from __future__ import annotations

import os
import stat
import threading

import pytest

from seqlit.errors import SeqlitError
from seqlit.io.predict_output import check_output, open_output

LINES = '{"index": 0}\n{"index": 1}\n'


@pytest.fixture()
def inputs(tmp_path):
    source = tmp_path / "in.txt"
    source.write_text("Maria works in Paris .\n", encoding="utf-8")
    return {"--data.init_args.predict_file": str(source), "--ckpt_path": None}


def write(output: str, results=None) -> None:
    out = open_output(output, results)
    out.write(LINES)
    out.close()


@pytest.mark.parametrize("spelling", ["in.txt", "./in.txt", "sub/../in.txt", "link.txt", "hard.txt"])
def test_an_input_is_never_the_output(tmp_path, inputs, monkeypatch, spelling):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "sub").mkdir()
    os.symlink("in.txt", tmp_path / "link.txt")
    os.link(tmp_path / "in.txt", tmp_path / "hard.txt")
    with pytest.raises(SeqlitError, match=rf"--predict_output '{spelling}' is the same file as "
                                          r"--data.init_args.predict_file .*in.txt' \(device \d+, inode \d+\): "
                                          "predicting would overwrite an input; name another output file"):
        check_output(spelling, inputs, overwrite=True)
    assert (tmp_path / "in.txt").read_text(encoding="utf-8") == "Maria works in Paris .\n"


def test_standard_output_redirected_into_the_input_is_refused(tmp_path, inputs):
    with open(inputs["--data.init_args.predict_file"], "a", encoding="utf-8") as stdout:  # `predict … >> in.txt`
        with pytest.raises(SeqlitError, match="standard output is the same file as --data.init_args.predict_file"):
            check_output("-", inputs, overwrite=True, stdout=stdout)


def test_an_existing_file_is_replaced_only_with_overwrite(tmp_path, inputs):
    out = tmp_path / "out.jsonl"
    out.write_text("keep me\n", encoding="utf-8")
    with pytest.raises(SeqlitError, match=r"--predict_output '.*out.jsonl' exists \(8 bytes\): pass --overwrite true "
                                          "to replace it, or name another file"):
        check_output(str(out), inputs, overwrite=False)
    assert out.read_text(encoding="utf-8") == "keep me\n"
    check_output(str(out), inputs, overwrite=True)
    write(str(out))
    assert out.read_text(encoding="utf-8") == LINES
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".tmp-")] == []


def test_a_new_file_needs_no_overwrite(tmp_path, inputs):
    check_output(str(tmp_path / "new" / "out.jsonl"), inputs, overwrite=False)


def test_a_symlink_stays_a_link_and_its_target_is_written(tmp_path, inputs):
    target = tmp_path / "real.jsonl"
    target.write_text("old\n", encoding="utf-8")
    link = tmp_path / "out.jsonl"
    os.symlink("real.jsonl", link)
    check_output(str(link), inputs, overwrite=True)
    write(str(link))
    assert link.is_symlink() and os.readlink(link) == "real.jsonl"
    assert target.read_text(encoding="utf-8") == LINES


def test_a_fifo_is_written_into_not_replaced(tmp_path, inputs):
    fifo = tmp_path / "out.fifo"
    os.mkfifo(fifo)
    got: list[str] = []
    reader = threading.Thread(target=lambda: got.append(fifo.read_text(encoding="utf-8")), daemon=True)
    reader.start()
    check_output(str(fifo), inputs, overwrite=False)  # not "exists": nothing is replaced
    write(str(fifo))
    reader.join(timeout=30)
    assert got == [LINES]
    assert stat.S_ISFIFO(os.stat(fifo).st_mode)


def test_a_character_device_is_written_into_not_replaced(tmp_path, inputs):
    """A private /dev/null (mknod 1,3): the real one is never put at risk by a failing test."""
    null = tmp_path / "null"
    try:
        os.mknod(null, 0o666 | stat.S_IFCHR, os.makedev(1, 3))
    except PermissionError:
        pytest.skip("mknod of a character device needs root (CAP_MKNOD)")
    check_output(str(null), inputs, overwrite=False)
    write(str(null))
    assert stat.S_ISCHR(os.stat(null).st_mode) and os.stat(null).st_rdev == os.makedev(1, 3)


def test_a_block_device_is_refused(inputs):
    block = next((os.path.join("/dev", n) for n in sorted(os.listdir("/dev"))
                  if stat.S_ISBLK(os.stat(os.path.join("/dev", n)).st_mode)), None) if os.path.isdir("/dev") else None
    if block is None:
        pytest.skip("no block device under /dev")
    with pytest.raises(SeqlitError, match="is a block device: name a regular file, a FIFO or a character device"):
        check_output(block, inputs, overwrite=True)


def test_standard_output_is_written_directly(tmp_path, inputs):
    with open(tmp_path / "stdout.txt", "w", encoding="utf-8") as results:
        check_output("-", inputs, overwrite=False, stdout=results)
        write("-", results)
        assert not results.closed  # the CLI's stream: written into, left open
    assert (tmp_path / "stdout.txt").read_text(encoding="utf-8") == LINES
