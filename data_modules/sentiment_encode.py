"""The classifier's `Dataset.map` function: a batch of (text, label) rows -> ids, label id, words, length.

Top level, with the vocabulary (word tokens, or the BPE tokenizer's JSON),
the label names and the options in its arguments, so `datasets` caches the
encoded split by fingerprint and a second run reads it back. A bad row (a
label outside the set, a text with no words) raises `SeqlitError` inside the
map, before `datasets` moves its cache file into place.
"""

from __future__ import annotations

import re
from functools import lru_cache

from data_modules.subword import SubwordVocab
from seqlit.errors import SeqlitError
from seqlit.vocab import Vocab

UNLABELLED = -1
TOKEN = re.compile(r"\w+(?=n't\b)|n't\b|'\w+|\w+(?:-\w+)*|[^\w\s]")


def tokenize(text: str, lowercase: bool = True) -> list[str]:
    return TOKEN.findall(text.lower() if lowercase else text)


@lru_cache(maxsize=4)
def vocabulary(kind: str, state: tuple[str, ...] | str) -> Vocab | SubwordVocab:
    """The vocabulary `encode` reads: word tokens (a tuple) or a BPE tokenizer's JSON (a string); built once per process."""
    if kind == "bpe":
        return SubwordVocab.from_state({"kind": "bpe", "tokenizer": state})
    return Vocab(list(state))


def label_id(value, lookup: dict[str, int], stored_names: list[str] | None, names: list[str], where: str) -> int:
    """A row's id in `names`, or UNLABELLED; a value outside the label set raises, naming `where` (split and row)."""
    if value is None or value == UNLABELLED:
        return UNLABELLED
    if isinstance(value, int) and stored_names is not None and 0 <= value < len(stored_names):
        value = stored_names[value]  # map by name: the checkpoint's order may differ from the file's
    if isinstance(value, str) and value in lookup:
        return lookup[value]
    if isinstance(value, int) and not isinstance(value, bool) and stored_names is None and 0 <= value < len(lookup):
        return value
    raise SeqlitError(f"{where}: label {value!r} is not one of {names} (-1 marks an unlabelled row)")


def encode(batch: dict, indices: list[int], *, text_column: str, label_column: str | None, names: list[str],
           stored_names: list[str] | None, kind: str, vocab: tuple[str, ...] | str, lowercase: bool, max_length: int,
           scored: bool, where: str, name: str) -> dict:
    """Rows -> `ids`, `label`, `text`, `index` (row in the source), `words` (word tokenizer), `length`, `cut`.
    With `scored`, unlabelled rows are left out (the batch returns fewer rows)."""
    words_of, lookup = vocabulary(kind, vocab), {n: i for i, n in enumerate(names)}
    labels = batch[label_column] if label_column else [UNLABELLED] * len(indices)
    out = {"ids": [], "label": [], "text": [], "index": [], "length": [], "cut": [], **({"words": []} if kind == "word" else {})}
    for i, text, value in zip(indices, batch[text_column], labels):
        label = label_id(value, lookup, stored_names, names, f"{where} row {i}")
        if scored and label == UNLABELLED:
            continue
        tokens = tokenize(text or "", lowercase)
        if not tokens:
            raise SeqlitError(f"{name}: text {i} (counting from 0) has no words: remove it or give it some text")
        ids = words_of.encode(tokens)  # one id per word, or per piece for bpe
        out["ids"].append(ids[:max_length])
        out["label"].append(label)
        out["text"].append(text or "")
        out["index"].append(i)
        out["length"].append(min(len(ids), max_length))
        out["cut"].append(len(ids) > max_length)
        if kind == "word":
            out["words"].append(tokens[:max_length])
    return out
