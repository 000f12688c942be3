"""Sampling novel sequences from a language model, one token at a time.

`stream` and `sample` keep the recurrent state: the prompt is read once, then each token costs one step.
`sample_rerun` re-reads the whole prefix per token, to prove (tests) and measure (bench) that the cached path
gives the same tokens faster.
"""

from __future__ import annotations

from typing import Iterator

import torch


def pick(log_probs: torch.Tensor, temperature: float, top_k: int | None, generator: torch.Generator,
         top_p: float | None = None) -> int:
    """Draw one id from (V,) log-probabilities; temperature 0 means greedy.

    The most likely token's score is subtracted before dividing by the temperature, so any positive finite
    temperature is defined: a tiny one (1e-45) tends to greedy instead of overflowing into NaN. `top_p`
    keeps the smallest set of most likely tokens whose probability reaches it (nucleus sampling)."""
    if temperature <= 0:
        return int(log_probs.argmax())
    scores = log_probs.float()
    logits = (scores - scores.max()) / temperature
    if top_k is not None and top_k < logits.numel():
        kth = torch.topk(logits, top_k).values[-1]
        logits = logits.masked_fill(logits < kth, float("-inf"))
    probs = torch.softmax(logits, dim=-1)
    if top_p is not None and top_p < 1:
        ranked, order = torch.sort(probs, descending=True)
        outside = ranked.cumsum(0) - ranked >= top_p  # the tokens after the nucleus has reached top_p
        probs = probs.scatter(0, order[outside], 0.0)
    return int(torch.multinomial(probs.cpu(), 1, generator=generator))


@torch.no_grad()
def stream(model, prompt: list[int], max_tokens: int, temperature: float = 1.0, top_k: int | None = None,
           stop_id: int | None = None, seed: int = 0, top_p: float | None = None) -> Iterator[int]:
    """Continue `prompt` (non-empty ids) by up to `max_tokens` ids, carrying the state: each id as it is drawn."""
    g = torch.Generator().manual_seed(seed)
    device = next(model.parameters()).device
    log_probs, state = model.step(torch.tensor([prompt], device=device))
    for i in range(max_tokens):
        nxt = pick(log_probs[0, -1], temperature, top_k, g, top_p)
        yield nxt
        if nxt == stop_id or i == max_tokens - 1:
            return
        log_probs, state = model.step(torch.tensor([[nxt]], device=device), state)


def sample(model, prompt: list[int], max_tokens: int, temperature: float = 1.0, top_k: int | None = None,
           stop_id: int | None = None, seed: int = 0, top_p: float | None = None) -> list[int]:
    """`stream`'s ids as a list."""
    return list(stream(model, prompt, max_tokens, temperature, top_k, stop_id, seed, top_p))


@torch.no_grad()
def sample_rerun(model, prompt: list[int], max_tokens: int, temperature: float = 1.0, top_k: int | None = None,
                 stop_id: int | None = None, seed: int = 0) -> list[int]:
    """Same as `sample`, but re-reads the whole prefix for every new token."""
    g = torch.Generator().manual_seed(seed)
    device = next(model.parameters()).device
    seq, out = list(prompt), []
    for _ in range(max_tokens):
        log_probs, _ = model.step(torch.tensor([seq], device=device))
        nxt = pick(log_probs[0, -1], temperature, top_k, g)
        out.append(nxt)
        seq.append(nxt)
        if nxt == stop_id:
            break
    return out
