"""The predict writer streams: records go out in input order as each chunk ends (not at the end), blank lines
get their `skipped` record, and an exception leaves the whole lines written so far and says where it stopped.

Driven through the callback hooks with a stand-in trainer (seqlit/callbacks/predictions.py).
"""

from __future__ import annotations

import io
import json
from types import SimpleNamespace

from data_modules.predict_stream import FLUSH
from seqlit.callbacks.predictions import JsonlPredictionWriter


def trainer(predict_file: str, lines: int):
    return SimpleNamespace(world_size=1, is_global_zero=True,
                           datamodule=SimpleNamespace(predict_file=predict_file, predict_line_count=lines))


def indices(path) -> list[int]:
    return [json.loads(line)["index"] for line in path.read_text(encoding="utf-8").splitlines()]


def test_records_stream_out_in_input_order_chunk_by_chunk(tmp_path):
    results, t = io.StringIO(), trainer("in.txt", 8)
    writer = JsonlPredictionWriter("-", results)
    writer.on_predict_start(t, None)
    writer.on_predict_batch_end(t, None, [{"index": 2}, {"index": 0}], {FLUSH: 0}, 0)  # chunk 0: lines 0-3, 1 blank
    writer.on_predict_batch_end(t, None, [{"index": 3}], {FLUSH: 0}, 1)
    assert results.getvalue() == ""  # the chunk may still hold a line before them
    writer.on_predict_batch_end(t, None, [{"index": 5}, {"index": 4}], {FLUSH: 4}, 2)  # chunk 1 starts: 0-3 are out
    assert [json.loads(x) for x in results.getvalue().splitlines()] == [
        {"index": 0}, {"index": 1, "skipped": "blank line"}, {"index": 2}, {"index": 3}]
    writer.on_predict_epoch_end(t, None)  # lines 6 and 7 were blank: the line count says so
    assert [json.loads(x)["index"] for x in results.getvalue().splitlines()] == list(range(8))


def test_an_exception_keeps_the_whole_lines_written_and_says_where_it_stopped(tmp_path, capfd):
    out, t = tmp_path / "out.jsonl", trainer("in.txt", 100)
    writer = JsonlPredictionWriter(str(out), io.StringIO())
    writer.on_predict_start(t, None)
    writer.on_predict_batch_end(t, None, [{"index": 1}, {"index": 0}], {FLUSH: 0}, 0)
    writer.on_predict_batch_end(t, None, [{"index": 3}], {FLUSH: 0}, 1)  # line 2 not predicted yet
    assert not out.exists()  # streamed into a hidden temporary file
    writer.on_exception(t, None, RuntimeError("boom"))
    assert indices(out) == [0, 1]  # 3 waits for 2, which may not be blank: not written
    assert ("predict failed (RuntimeError) after 2 record(s): " + str(out) + " holds whole lines only, the records "
            "of input lines 1-2; to finish, predict the input from line 3 on (tail -n +3 in.txt)") in capfd.readouterr().err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.jsonl"]


def test_an_exception_before_any_record_leaves_no_file(tmp_path, capfd):
    out, t = tmp_path / "out.jsonl", trainer("in.txt", 10)
    writer = JsonlPredictionWriter(str(out), io.StringIO())
    writer.on_predict_start(t, None)
    writer.on_exception(t, None, RuntimeError("boom"))
    assert list(tmp_path.iterdir()) == []
    assert "predict failed (RuntimeError): no predictions were written" in capfd.readouterr().err
