"""results.jsonl: checked before anything trains, appended to in whole lines only, by any number of writers."""

from __future__ import annotations

import json
import multiprocessing

import pytest

from seqlit.benchmark import results
from seqlit.errors import SeqlitError

RECORD = {"name": "pydoc-char-gru", "status": "ok", "metrics": {"test/bpc": 4.5}}
WHOLE = json.dumps(RECORD) + "\n"


@pytest.mark.parametrize("text, line, why", [
    (WHOLE + WHOLE[:40], 2, "not a JSON object"),            # a run killed mid-write
    (WHOLE + "[1, 2]\n" + WHOLE, 2, "a result needs at least a 'name'"),
    (WHOLE + WHOLE.rstrip("\n"), 2, "the last line has no newline"),  # cut just before its newline
])
def test_a_damaged_file_is_one_line_naming_file_and_line(tmp_path, text, line, why):
    path = tmp_path / "results.jsonl"
    path.write_text(text)
    with pytest.raises(SeqlitError) as err:
        results.check_appendable(str(path))
    message = str(err.value)
    assert message.startswith(f"{path}:{line}: {why}") and "delete or repair that line" in message
    assert "\n" not in message and path.read_text() == text


def test_a_whole_file_or_none_passes(tmp_path):
    results.check_appendable(str(tmp_path / "absent.jsonl"))
    path = tmp_path / "results.jsonl"
    path.write_text(WHOLE + "\n" + WHOLE)  # blank lines are allowed
    results.check_appendable(str(path))


def test_append_never_glues_onto_a_cut_line(tmp_path):
    """The file was cut after the check (another writer killed): the record is refused, the file left as it was."""
    path = tmp_path / "results.jsonl"
    path.write_text(WHOLE[:40])
    with pytest.raises(SeqlitError, match="last line was cut while this benchmark ran"):
        results.append(str(path), RECORD)
    assert path.read_text() == WHOLE[:40]


def _append(path: str, who: int, start) -> None:
    start.wait()
    for i in range(50):
        results.append(path, {"name": f"w{who}", "i": i, "pad": "x" * 5000})  # longer than a pipe buffer


def test_two_writers_append_whole_lines(tmp_path):
    path = str(tmp_path / "results.jsonl")
    context = multiprocessing.get_context("spawn")
    start = context.Barrier(2)
    workers = [context.Process(target=_append, args=(path, who, start)) for who in (0, 1)]
    for w in workers:
        w.start()
    for w in workers:
        w.join(timeout=120)
        assert w.exitcode == 0
    rows = results.read(path)
    assert sorted((r["name"], r["i"]) for r in rows) == [(f"w{w}", i) for w in (0, 1) for i in range(50)]
