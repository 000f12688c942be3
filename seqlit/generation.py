"""Sampling novel sequences from a language model, one token at a time.

`sample` keeps the recurrent state: the prompt is read once, then every new
token costs one recurrent step. `sample_rerun` re-reads the whole prefix for
every token, as a model without a state would; it exists to prove (tests) and
measure (bench) that the cached path gives the same tokens faster.
"""

from __future__ import annotations

import torch


def pick(log_probs: torch.Tensor, temperature: float, top_k: int | None, generator: torch.Generator) -> int:
    """Draw one id from (V,) log-probabilities; temperature 0 means greedy."""
    if temperature <= 0:
        return int(log_probs.argmax())
    logits = log_probs.float() / temperature
    if top_k is not None and top_k < logits.numel():
        kth = torch.topk(logits, top_k).values[-1]
        logits = logits.masked_fill(logits < kth, float("-inf"))
    probs = torch.softmax(logits, dim=-1)
    return int(torch.multinomial(probs.cpu(), 1, generator=generator))


@torch.no_grad()
def sample(model, prompt: list[int], max_tokens: int, temperature: float = 1.0, top_k: int | None = None,
           stop_id: int | None = None, seed: int = 0) -> list[int]:
    """Continue `prompt` (non-empty ids) by up to `max_tokens` ids, carrying the state."""
    g = torch.Generator().manual_seed(seed)
    device = next(model.parameters()).device
    log_probs, state = model.step(torch.tensor([prompt], device=device))
    out: list[int] = []
    for _ in range(max_tokens):
        nxt = pick(log_probs[0, -1], temperature, top_k, g)
        out.append(nxt)
        if nxt == stop_id:
            break
        log_probs, state = model.step(torch.tensor([[nxt]], device=device), state)
    return out


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
