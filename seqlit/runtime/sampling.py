"""Continuing a prompt one token at a time, as `seqlit.generation.stream` does, with numpy's seeded generator.

`pick` follows `seqlit.generation.pick` step for step (temperature 0 is greedy; the top score subtracted
before the temperature; top-k, then top-p); greedy continuations are the torch ones exactly, sampled ones
are reproducible by seed but drawn by numpy's generator, not torch's, so the two back ends draw differently.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np

from .errors import ModelFolderError


def check(max_tokens: int, temperature: float, top_k: int | None, top_p: float | None, vocab_size: int) -> None:
    """The options `python -m seqlit generate` accepts, refused in one line as it refuses them."""
    if not isinstance(max_tokens, int) or max_tokens <= 0:
        raise ModelFolderError(f"max_tokens must be a positive number of tokens, got {max_tokens!r}")
    if not math.isfinite(temperature) or temperature < 0:
        raise ModelFolderError(f"temperature must be 0 (greedy) or more, a finite number, got {temperature}")
    if top_k is not None and not 0 < top_k <= vocab_size:
        raise ModelFolderError(f"top_k must be 1 to the vocabulary's {vocab_size} tokens, got {top_k}")
    if top_p is not None and not 0 < top_p <= 1:
        raise ModelFolderError(f"top_p must be a probability above 0 and at most 1, got {top_p}")


def pick(log_probs: np.ndarray, temperature: float, top_k: int | None, top_p: float | None,
         rng: np.random.Generator) -> int:
    """One id from (V,) log-probabilities."""
    if temperature <= 0:
        return int(log_probs.argmax())
    scores = log_probs.astype(np.float32)
    logits = (scores - scores.max()) / np.float32(temperature)
    if top_k is not None and top_k < logits.size:
        kth = np.sort(logits)[-top_k]
        logits = np.where(logits < kth, -np.inf, logits)
    probs = np.exp(logits.astype(np.float64) - logits.max())
    probs /= probs.sum()
    if top_p is not None and top_p < 1:
        order = np.argsort(-probs, kind="stable")
        ranked = probs[order]
        probs[order[ranked.cumsum() - ranked >= top_p]] = 0.0  # the tokens after the nucleus has reached top_p
        probs /= probs.sum()
    return int(rng.choice(probs.size, p=probs))


def continue_ids(step: Callable, prompt: list[int], max_tokens: int, temperature: float, top_k: int | None,
                 top_p: float | None, stop_id: int | None, seed: int) -> list[int]:
    """Up to `max_tokens` ids after `prompt`; `step(ids (1, T), state or None)` -> ((1, T, V) log-probs, state)."""
    rng = np.random.default_rng(seed)
    log_probs, state = step(np.array([prompt], dtype=np.int64), None)
    out: list[int] = []
    for i in range(max_tokens):
        out.append(pick(log_probs[0, -1], temperature, top_k, top_p, rng))
        if out[-1] == stop_id or i == max_tokens - 1:
            break
        log_probs, state = step(np.array([[out[-1]]], dtype=np.int64), state)
    return out
