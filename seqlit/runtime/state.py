"""Stepping a graph that carries a recurrent state (seqlit/deploy/onnx_steps.py): `state` and, for an LSTM,
`cell`, each (L*D, B, H), fed in and read back from `next_state` / `next_cell`."""

from __future__ import annotations

import numpy as np

NAMES = ("state", "cell")


def zeros(session, batch: int) -> dict[str, np.ndarray]:
    """The zero state of `batch` rows, torch's `state=None`; empty for a graph that takes no state."""
    return {i.name: np.zeros((i.shape[0], batch, i.shape[2]), dtype=np.float32)
            for i in session.get_inputs() if i.name in NAMES}


def run(session, feeds: dict, state: dict) -> tuple[dict, dict]:
    """(every output by name, the next state) of one call; feeds the graph does not read are left out."""
    wanted = {i.name for i in session.get_inputs()}
    names = [o.name for o in session.get_outputs()]
    out = dict(zip(names, session.run(names, {k: v for k, v in {**feeds, **state}.items() if k in wanted})))
    return out, {n: out[f"next_{n}"] for n in state}


def rows(state: dict, index: np.ndarray) -> dict:
    """The state of the batch rows `index` (beam search's reordering and expansion)."""
    return {n: s[:, index] for n, s in state.items()}
