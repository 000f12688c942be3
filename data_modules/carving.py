"""A validation split carved out of training phrases: whole sentences, with every phrase of them taken out of train.

SST-2 ships labelled train (phrases of parse trees) and dev only, so selecting a checkpoint on dev and reporting
dev reports the split the choice was made on. The carved rows are whole sentences (no other row's phrase),
drawn seeded and stratified by label, and every training row that is a phrase of one leaves train. An inverted
index on each row's rarest token keeps it to about a second over 67k rows. Why and how: docs/data_arrow_tasks.md.
"""

from __future__ import annotations

import random
from collections import defaultdict


def whole_sentences(tokens: list[list[str]]) -> list[int]:
    """Indices of the rows that are no other row's phrase (a run of its tokens); empty rows are never whole."""
    keys = [f" {' '.join(t)} " for t in tokens]
    holding: dict[str, list[int]] = defaultdict(list)  # token -> rows that hold it
    for i, row in enumerate(tokens):
        for token in set(row):
            holding[token].append(i)
    whole = []
    for i, row in enumerate(tokens):
        if not row:
            continue
        rarest = min(set(row), key=lambda t: len(holding[t]))
        key = keys[i]
        if not any(len(keys[j]) > len(key) and key in keys[j] for j in holding[rarest]):
            whole.append(i)
    return whole


def stratified_quota(counts: dict, size: int) -> dict:
    """`size` shared among labels in proportion to `counts`, the rounding left over going to the largest remainders."""
    total = sum(counts.values())
    exact = {label: size * n / total for label, n in counts.items()}
    quota = {label: int(share) for label, share in exact.items()}
    for label in sorted(exact, key=lambda label: (quota[label] - exact[label], label))[: size - sum(quota.values())]:
        quota[label] += 1
    return quota


def carve(tokens: list[list[str]], labels: list, size: int, seed: int) -> tuple[list[int], list[int], int]:
    """(carved rows, training rows kept, number of candidate sentences): `size` whole sentences drawn by `seed`,
    stratified by label, and the training rows that are none of their phrases. Labels are any sortable values;
    None (unlabelled) is never carved. Raises ValueError when there are fewer whole sentences than `size`."""
    seen: set[tuple[str, ...]] = set()
    by_label: dict = defaultdict(list)
    for i in whole_sentences(tokens):
        if labels[i] is not None and tuple(tokens[i]) not in seen:  # a sentence that occurs twice is one candidate
            seen.add(tuple(tokens[i]))
            by_label[labels[i]].append(i)
    candidates = sum(map(len, by_label.values()))
    if candidates < size:
        raise ValueError(f"only {candidates} labelled whole sentences to carve {size} from")
    rng = random.Random(seed)
    quota = stratified_quota({label: len(rows) for label, rows in by_label.items()}, size)
    carved = sorted(i for label in sorted(by_label) for i in rng.sample(by_label[label], quota[label]))
    phrases = {tuple(tokens[i][a:b]) for i in carved for a in range(len(tokens[i])) for b in range(a + 1, len(tokens[i]) + 1)}
    kept = [i for i, row in enumerate(tokens) if tuple(row) not in phrases]
    return carved, kept, candidates
