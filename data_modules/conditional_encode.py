"""The conditional language model's two `Dataset.map` functions: rows -> (text, condition ids) -> token ids.

`conditions` reads each field's value (ids of a ClassLabel or numbered column
through its names, a value outside them one line naming the row; strings by
name, a name training never saw being the field's `<unk>`) and leaves out rows
with a field missing or unlabelled; it needs the field names only, so its
result is what the token vocabulary is counted over. `encode` then turns each
text into `<bos>` + its first `max_length` tokens (+ `<eos>` when it fits).
Both are top level with everything they read in their arguments, so
`datasets` caches each by fingerprint; a bad row raises `SeqlitError` before
the cache file is moved into place.
"""

from __future__ import annotations

from functools import lru_cache

from data_modules.sentiment_encode import UNLABELLED, label_id, tokenize
from seqlit.vocab import BOS, EOS, UNK, Vocab


def tokens(text: str, level: str, lowercase: bool) -> list[str]:
    """A text's tokens (words, or characters newlines included), then `<eos>`."""
    return (tokenize(text, lowercase) if level == "word" else list(text)) + [EOS]


@lru_cache(maxsize=4)
def vocabulary(tokens: tuple[str, ...]) -> Vocab:
    return Vocab(list(tokens))


def field_id(value, names: list[str], lookup: dict[str, int], stored: list[str] | None, by_id: bool, where: str) -> int | None:
    """The id of `value` in its field's `names`, or None where the row is unlabelled (None, -1)."""
    if by_id:  # ClassLabel or numbered column, or strings with no <unk>: every value must be a known name
        i = label_id(value, lookup, stored, names, where)
        return None if i == UNLABELLED else i
    if value is None or value == UNLABELLED:
        return None
    return lookup.get(str(value), lookup[UNK])


def conditions(batch: dict, indices: list[int], *, text_column: str, fields: tuple, where: str) -> dict:
    """Rows -> `text`, `conditions` (one id per field); `fields`: (column, names, ClassLabel names or None, by_id)."""
    out: dict = {"text": [], "conditions": []}
    lookups = [{n: i for i, n in enumerate(names)} for _, names, _, _ in fields]
    for r, i in enumerate(indices):
        ids = [field_id(batch[column][r], list(names), lookup, stored and list(stored), by_id, f"{where} column {column!r} row {i}")
               for (column, names, stored, by_id), lookup in zip(fields, lookups)]
        if None in ids:
            continue
        out["text"].append(batch[text_column][r] or "")
        out["conditions"].append(ids)
    return out


def encode(batch: dict, *, level: str, lowercase: bool, vocab: tuple[str, ...], max_length: int) -> dict:
    """(text, conditions) rows -> `ids` ([<bos>] + tokens, the first `max_length` + 1), `length`, `cut`."""
    words = vocabulary(vocab)
    out: dict = {"ids": [], "conditions": batch["conditions"], "text": batch["text"], "length": [], "cut": []}
    for text in batch["text"]:
        sequence = [BOS] + tokens(text, level, lowercase)
        ids = words.encode(sequence[: max_length + 1])
        out["ids"].append(ids)
        out["length"].append(len(ids) - 1)
        out["cut"].append(len(sequence) - 1 > max_length)
    return out
