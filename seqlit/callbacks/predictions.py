"""Write `predict` outputs as JSON lines, in input order, atomically, and show them readably.

Task modules return, from `predict_step`, a list of JSON-ready dicts, each
with an integer `index` (the example's position in the input file). Under
DDP every rank predicts its share; the records are gathered to rank zero,
sorted by `index`, and written atomically (`seqlit.storage`: a temporary
file renamed into place, or an fsspec transaction), following the user's
umask, so a crash never leaves a half-written output.

Blank lines of a `predict_file` have nothing to predict (the data modules
skip them); each gets the record `{"index": i, "skipped": "blank line"}`, so
record k is always line k of the input, and a one-line note says so.

With an output file, the first predictions are also shown on the terminal
(`render`: entities with their character offsets, the label with the class
probabilities, the translation). With `-` the records go to `results`, the
stream the CLI keeps for them alone (seqlit/cli.py sends everything else the
command prints to stderr), so `predict … | jq` reads only JSON.
"""

from __future__ import annotations

import json
import os
import sys
from typing import TextIO

import torch.distributed as dist
from pytorch_lightning.callbacks import BasePredictionWriter

from seqlit.storage import write_atomically

SHOWN = 20  # predictions rendered on the terminal; the file holds them all


def render(record: dict) -> str:
    """One prediction for a person: the input, then on an indented line what the model made of it."""
    if "skipped" in record:
        return f"(line {record['index'] + 1}: {record['skipped']}, no prediction)"
    if "entities" in record:
        spans = [f'{e["type"]} "{e["text"]}" [{e["start"]}, {e["end"]})' for e in record["entities"]]
        return f"{record['text']}\n  " + ("   ".join(spans) or "(no entities)")
    if "probs" in record:
        ranked = sorted(record["probs"].items(), key=lambda kv: -kv[1])
        return f"{record['text']}\n  " + "   ".join(f"{name} {p:.3f}" for name, p in ranked)
    if "translation" in record:
        return f"{record['source']}\n  → {record['translation']}"
    return json.dumps(record, ensure_ascii=False)


def line_count(path: str) -> int:
    """Lines of a text file, split on '\\n' as the data modules read them (a last line without '\\n' counts)."""
    with open(path, "rb") as f:
        data = f.read()
    return data.count(b"\n") + (1 if data and not data.endswith(b"\n") else 0)


def with_blank_lines(records: list[dict], lines: int) -> tuple[list[dict], list[int]]:
    """`records` (sorted by index) with a `skipped` record for each of the input's `lines` that has none.

    Shared by `predict` (the lines of its file) and `SeqTask.predict_text` (the texts it is given)."""
    seen = {r["index"] for r in records}
    last = max(max(seen, default=-1) + 1, lines)
    missing = [i for i in range(last) if i not in seen]
    filled = records + [{"index": i, "skipped": "blank line"} for i in missing]
    return sorted(filled, key=lambda r: r["index"]), missing


class JsonlPredictionWriter(BasePredictionWriter):
    """Args:
        output: file to write ('-': `results`).
        results: where the records go for '-', and the readable view otherwise (default: standard output).
    """

    def __init__(self, output: str = "-", results: TextIO | None = None):
        super().__init__(write_interval="epoch")
        self.output, self.results = output, results

    def write_on_epoch_end(self, trainer, pl_module, predictions, batch_indices) -> None:
        records = [r for batch in predictions for r in batch]
        if trainer.world_size > 1 and dist.is_available() and dist.is_initialized():
            gathered = [None] * trainer.world_size
            dist.all_gather_object(gathered, records)
            records = [r for part in gathered for r in part]
        if not trainer.is_global_zero:
            return
        records.sort(key=lambda r: r["index"])
        predict_file = getattr(trainer.datamodule, "predict_file", None)
        blank: list[int] = []
        if predict_file and os.path.isfile(predict_file):  # a split's records hold their own row numbers
            records, blank = with_blank_lines(records, line_count(predict_file))
        if blank:
            shown = ", ".join(str(i + 1) for i in blank[:10]) + (" …" if len(blank) > 10 else "")
            print(f"[seqlit] {predict_file}: {len(blank)} blank line(s) ({shown}) have no prediction; "
                  'their records say "skipped", so record k is line k', file=sys.stderr)
        lines = "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records)
        results = self.results or sys.stdout
        if self.output == "-":
            results.write(lines)
            results.flush()
            return
        write_atomically(self.output, lambda f: f.write(lines.encode("utf-8")))
        view = [render(r) for r in records[:SHOWN]]
        if len(records) > SHOWN:
            view.append(f"… {len(records) - SHOWN} more in {self.output}")
        results.write("\n".join(view) + "\n")
        results.flush()
        print(f"[seqlit] wrote {len(records)} records to {self.output}", file=sys.stderr)
