"""A validation split carved out of training phrases: whole sentences, with every phrase of them taken out of train.

Why. SST-2 ships labelled train (67,349 rows) and dev (GLUE's 872 sentences),
and its test labels are hidden. Choosing the best checkpoint on dev and
reporting dev as "test" reports the split the choice was made on. So a
validation split is carved from train instead, the size of dev, and dev stays
unseen until the test.

What is carved. SST-2's training rows are the phrases of the treebank's parse
trees: each training sentence with its sub-phrases ("a gorgeous , witty ,
seductive movie", "witty", …), where dev holds whole sentences only. So the
carved rows are *whole sentences*: rows that are no other row's phrase (6,882
distinct ones in SST-2 as seqlit tokenizes it, near binary SST's 6,920
training sentences). They are drawn seeded and stratified by label (each
label's share of the sentences, largest remainders first). Then every
training row that is a phrase of a carved sentence leaves train, so the
model never trains on a piece of what it is validated on: its sub-phrases,
and short common phrases that also occur elsewhere ("the film", "good"),
the price of a guarantee that no training row is a phrase of a carved one.

How, over 67k rows. "Phrase of" means a run of whole tokens, checked as a
substring of the space-joined tokens padded with spaces (so "good" is not in
"goodness"). Finding the whole sentences compares each row with the longer
rows that hold its rarest token only (an inverted index), stopping at the
first that contains it: a common short phrase finds a container at once, and
a real sentence has a rare word with a short list; about a second on SST-2
instead of 67k² comparisons. Taking the carved sentences' phrases out builds
the set of every token run of the carved sentences (872 sentences of ~20
tokens: ~200k runs) and drops the training rows found in it: one set lookup
a row.
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
