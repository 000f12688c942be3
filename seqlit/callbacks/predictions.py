"""Write `predict` outputs as JSON lines, in input order, as they are predicted, and show them readably.

`predict_step` returns JSON-ready dicts, each with its input line's `index`; a batch's records wait in a heap
until every earlier line is predicted, so memory holds at most a chunk's records (data_modules/predict_stream.py).
A blank input line gets `{"index": i, "skipped": "blank line"}`, so record k is always line k. Interrupted, the
whole lines written stay as a valid prefix. Under DDP each rank writes a part file that rank zero merges.
The terminal preview is the task's `SeqTask.render`. With `-` the records go to `results`, the stream the CLI keeps for them alone, so `predict … | jq` reads only
JSON. Details: docs/predict.md.
"""

from __future__ import annotations

import contextlib
import heapq
import json
import os
import secrets
import sys
from typing import TextIO

import torch.distributed as dist
from pytorch_lightning.callbacks import Callback

from data_modules.predict_stream import FLUSH
from seqlit.run import signals
from seqlit.io.predict_output import Output, open_output
from seqlit.io.storage import TMP_PREFIX, local_path

SHOWN = 20  # predictions rendered on the terminal; the file holds them all
NOTED = 10  # blank lines named in the note


def render(record: dict, task=None) -> str:
    """One prediction for a person, as its task renders it (`SeqTask.render`); JSON from anything else."""
    if "skipped" in record:
        return f"(line {record['index'] + 1}: {record['skipped']}, no prediction)"
    return task.render(record) if hasattr(task, "render") else json.dumps(record, ensure_ascii=False)


def with_blank_lines(records: list[dict], lines: int) -> tuple[list[dict], list[int]]:
    """`records` (sorted by index) with a `skipped` record for each of the input's `lines` that has none
    (`SeqTask.predict_text`, on the texts it is given)."""
    seen = {r["index"] for r in records}
    last = max(max(seen, default=-1) + 1, lines)
    missing = [i for i in range(last) if i not in seen]
    filled = records + [{"index": i, "skipped": "blank line"} for i in missing]
    return sorted(filled, key=lambda r: r["index"]), missing


class JsonlPredictionWriter(Callback):
    """Args:
        output: file to write ('-': `results`), checked by `seqlit.io.predict_output.check_output`.
        results: where the records go for '-', and the readable view otherwise (default: standard output).
    """

    def __init__(self, output: str = "-", results: TextIO | None = None):
        self.output, self.results = output, results
        self._out: Output | None = None
        self._part = None

    # -- the run ----------------------------------------------------------------------------------------
    def on_predict_start(self, trainer, pl_module) -> None:
        self._heap: list[tuple[int, str]] = []
        self._next = 0  # the index the next record written has at least (every earlier line is written)
        self._count, self._shown, self._blank, self._blanks = 0, [], [], 0
        self._task = pl_module
        self._source = getattr(trainer.datamodule, "predict_file", None)  # lines: a missing index is a blank line
        if trainer.world_size > 1 and dist.is_available() and dist.is_initialized():
            token = trainer.strategy.broadcast(secrets.token_hex(4))
            self._part_name = self._part_path(token, trainer.global_rank)
            self._part = open(self._part_name, "w", encoding="utf-8")
            self._parts = [self._part_path(token, r) for r in range(trainer.world_size)]
        else:
            self._out = open_output(self.output, self.results or sys.stdout)

    def on_predict_batch_end(self, trainer, pl_module, outputs, batch, batch_idx, dataloader_idx=0) -> None:
        for record in outputs:
            heapq.heappush(self._heap, (record["index"], json.dumps(record, ensure_ascii=False)))
        below = batch.get(FLUSH) if isinstance(batch, dict) else None
        if below is not None:  # a predict file: every line before `below` has been predicted
            self._flush(below)

    def on_predict_epoch_end(self, trainer, pl_module) -> None:
        self._flush(None)
        if self._part is not None:
            self._part.close()
            self._part = None
            trainer.strategy.barrier()
            if trainer.is_global_zero:
                self._merge_parts()
            trainer.strategy.barrier()
            if not trainer.is_global_zero:
                return
        self._fill(getattr(trainer.datamodule, "predict_line_count", None) or 0)
        self._out.close()
        self._out = None
        self._report()

    def on_exception(self, trainer, pl_module, exception: BaseException) -> None:
        signum = signals.received()
        why = f"stopped by {signals.name(signum)}" if signum else f"failed ({type(exception).__name__})"
        if self._part is not None or self._out is None:
            self._remove_parts()
            if trainer.is_global_zero:
                signals.say(f"[seqlit] predict {why}: no predictions were written")
            return
        with contextlib.suppress(OSError):  # a reader that went away (a closed pipe) gets no more
            self._flush(None, contiguous=True)
        out, self._out = self._out, None
        if not self._count:
            out.discard()
            signals.say(f"[seqlit] predict {why}: no predictions were written")
            return
        with contextlib.suppress(OSError):
            out.keep_prefix()
        where = "standard output" if self.output == "-" else self.output
        restart = (f"; to finish, predict the input from line {self._next + 1} on "
                   f"(tail -n +{self._next + 1} {self._source})" if self._source else "")
        signals.say(f"[seqlit] predict {why} after {self._count} record(s): {where} holds whole lines only, "
                    f"the records of input lines 1-{self._next}{restart}")

    # -- writing ----------------------------------------------------------------------------------------
    def _flush(self, below: int | None, contiguous: bool = False) -> None:
        """Write the waiting records whose index is below `below` (None: all), in order; `contiguous`: only
        those that follow the last written with no gap (interrupted, a gap may be a line not predicted)."""
        heap = self._heap
        while heap and (below is None or heap[0][0] < below):
            if contiguous and heap[0][0] != self._next:
                break
            index, line = heapq.heappop(heap)
            if self._part is not None:
                self._part.write(f"{index}\t{line}\n")
            else:
                self._emit(index, line)
        if self._out is not None:
            self._out.flush()

    def _emit(self, index: int, line: str) -> None:
        self._fill(index)
        self._out.write(line + "\n")
        self._count, self._next = self._count + 1, index + 1
        if len(self._shown) < SHOWN:
            self._shown.append(json.loads(line))

    def _fill(self, upto: int) -> None:
        """A `skipped` record for each line below `upto` that has none: the blank lines of a predict file."""
        if not self._source:
            return
        for index in range(self._next, upto):
            self._blanks += 1
            if len(self._blank) < NOTED:
                self._blank.append(index)
            self._emit(index, json.dumps({"index": index, "skipped": "blank line"}))

    def _report(self) -> None:
        if self._blanks:
            shown = ", ".join(str(i + 1) for i in self._blank) + (" …" if self._blanks > NOTED else "")
            print(f"[seqlit] {self._source}: {self._blanks} blank line(s) ({shown}) have no prediction; "
                  'their records say "skipped", so record k is line k', file=sys.stderr)
        if self.output == "-":
            return
        results = self.results or sys.stdout
        view = [render(r, self._task) for r in self._shown]
        if self._count > SHOWN:
            view.append(f"… {self._count - SHOWN} more in {self.output}")
        results.write("\n".join(view) + "\n")
        results.flush()
        print(f"[seqlit] wrote {self._count} records to {self.output}", file=sys.stderr)

    # -- DDP --------------------------------------------------------------------------------------------
    def _part_path(self, token: str, rank: int) -> str:
        """Rank `rank`'s part: beside a local output, else in the working directory."""
        path = local_path(self.output) if self.output != "-" else None
        folder = os.path.dirname(os.path.realpath(os.path.expanduser(path))) if path else os.getcwd()
        os.makedirs(folder, exist_ok=True)
        return os.path.join(folder, f"{TMP_PREFIX}predict-{token}-rank{rank}")

    def _merge_parts(self) -> None:
        self._out = open_output(self.output, self.results or sys.stdout)
        files = [open(p, encoding="utf-8") for p in self._parts]
        try:
            rows = (((int(i), line) for i, _, line in (row.rstrip("\n").partition("\t") for row in f)) for f in files)
            for index, line in heapq.merge(*rows):
                self._emit(index, line)
        finally:
            for f in files:
                f.close()
            self._remove_parts()

    def _remove_parts(self) -> None:
        if self._part is not None:
            self._part.close()
            self._part = None
        for path in getattr(self, "_parts", []):
            with contextlib.suppress(FileNotFoundError):
                os.remove(path)
