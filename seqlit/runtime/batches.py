"""Which texts share an onnxruntime pass: sorted by length and cut where padding would cost more than a call.

The masked graphs run every row of a batch to the batch's longest text, and onnxruntime's LSTM kernel is already
compute-bound at batch 1 on CPU (a batch of 16 texts of 40 tokens costs ~15x a batch of one, bench/serve_load.py
docs), so a batch padded to its longest text can cost more than its texts one by one. A group's cost is taken as
`CALL_ROWS + rows x longest` token-rows; the cheapest cut of the sorted lengths into groups of at most
`max_size` texts is found exactly (a small dynamic programme: n <= a few hundred).
"""

from __future__ import annotations

# one onnxruntime call costs about as much as this many token-rows of the shipped taggers and classifiers
# (0.09 ms a call, 10-30 us a token-row, one thread: docs/deploy.md "Why batching gains little with onnx")
CALL_ROWS = 4


def length_groups(lengths: list[int], max_size: int) -> list[list[int]]:
    """Positions of `lengths` in groups (each sorted by length, at most `max_size`) that pad the least."""
    order = sorted(range(len(lengths)), key=lengths.__getitem__)
    n = len(order)
    best, cut = [0] + [float("inf")] * n, [0] * (n + 1)  # best[j]: cheapest cost of the j shortest texts
    for j in range(1, n + 1):
        longest = lengths[order[j - 1]]
        for i in range(max(0, j - max_size), j):
            cost = best[i] + CALL_ROWS + (j - i) * longest
            if cost < best[j]:
                best[j], cut[j] = cost, i
    groups, j = [], n
    while j:
        groups.append(order[cut[j]: j])
        j = cut[j]
    return groups[::-1]
