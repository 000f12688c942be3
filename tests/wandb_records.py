"""Read the records of a W&B offline run file (`run-<id>.wandb`) with wandb's own protobuf schema.

wandb 0.31 no longer ships a Python reader for its run files (its
`datastore` moved into the Go `wandb-core`). The framing is LevelDB's log
format behind a 7-byte W&B header; the records are `wandb_internal_pb2.Record`.
Only the framing is reimplemented here, for tests.
"""

from __future__ import annotations

import json
import struct
from pathlib import Path

from wandb.proto import wandb_internal_pb2

BLOCK = 32768
HEADER = 7  # b":W&B" + 2-byte magic + 1-byte version
FULL, FIRST, MIDDLE, LAST = 1, 2, 3, 4


def records(path: Path):
    data = Path(path).read_bytes()
    assert data[:4] == b":W&B", f"{path} is not a W&B run file"
    pos, pending = HEADER, b""
    while pos + 7 <= len(data):
        left_in_block = BLOCK - pos % BLOCK
        if left_in_block < 7:
            pos += left_in_block
            continue
        _crc, length, kind = struct.unpack("<IHB", data[pos : pos + 7])
        chunk = data[pos + 7 : pos + 7 + length]
        pos += 7 + length
        if kind == 0 and length == 0:
            break
        if kind in (FULL, FIRST):
            pending = chunk
        else:
            pending += chunk
        if kind in (FULL, LAST):
            rec = wandb_internal_pb2.Record()
            rec.ParseFromString(pending)
            yield rec


def history(path: Path) -> list[dict]:
    """Logged rows (`wandb.log` / Lightning's `log_metrics`) as dicts of decoded values."""
    rows = []
    for rec in records(path):
        if rec.WhichOneof("record_type") == "history":
            rows.append({item.key or "/".join(item.nested_key): json.loads(item.value_json) for item in rec.history.item})
    return rows


def config(path: Path) -> dict:
    """The run config (`wandb.config`): top-level keys with their decoded values, last update winning."""
    out = {}
    for rec in records(path):
        if rec.WhichOneof("record_type") == "config":
            out.update({item.key or "/".join(item.nested_key): json.loads(item.value_json) for item in rec.config.update})
    return out


def artifacts(path: Path) -> list:
    """The artifacts the run logged (name, type, aliases, manifest), as `wandb sync` will upload them."""
    return [rec.artifact for rec in records(path) if rec.WhichOneof("record_type") == "artifact"]
