"""The encoder–decoder `Dataset.map` functions: sentence pairs -> source ids, target ids, reference, length.

Top level, with the vocabularies (token tuples), the tokenizer (`word`: the
translation tokenizer, optionally lower-cased; `char`: every character) and
the options in their arguments, so `datasets` caches an encoded split by
fingerprint and a second run memory-maps it. A pair with an empty side is
dropped before encoding (`nonempty`), so `index` counts the pairs kept, as
the list version did; a bad row raises `SeqlitError` inside the map, before
`datasets` moves its cache file into place.
"""

from __future__ import annotations

import re
from functools import lru_cache

from seqlit.errors import SeqlitError
from seqlit.vocab import Vocab

# words (with inner hyphens / apostrophes: "t-shirt", "don't") or single punctuation marks
TOKEN = re.compile(r"\w+(?:[-'’]\w+)*|[^\w\s]")
NO_SPACE_BEFORE = re.compile(r" ([.,!?;:%)\]}])")
NO_SPACE_AFTER = re.compile(r"([(\[{$]) ")


def tokenize(text: str, kind: str, lowercase: bool = False) -> list[str]:
    """`word`: words and punctuation marks (lower-cased with `lowercase`); `char`: every character."""
    if kind == "char":
        return list(text)
    return TOKEN.findall(text.lower() if lowercase else text)


def detokenize(tokens: list[str], kind: str) -> str:
    if kind == "char":
        return "".join(tokens)
    return NO_SPACE_AFTER.sub(r"\1", NO_SPACE_BEFORE.sub(r"\1", " ".join(tokens)))


@lru_cache(maxsize=8)
def vocabulary(tokens: tuple[str, ...]) -> Vocab:
    """The vocabulary a map reads, built once per process from its tokens."""
    return Vocab(list(tokens))


def sides(batch: dict, source_key: str, target_key: str | None, translation_column: str, where: str) -> tuple[list, list]:
    """A batch's source and target texts: two columns, or the two keys of WMT-style `{de: …, en: …}` rows."""
    if source_key in batch and (target_key is None or target_key in batch):
        return batch[source_key], batch[target_key] if target_key else [None] * len(batch[source_key])
    rows, keys = batch[translation_column], (source_key, target_key)
    bad = next((r for r in rows if not (isinstance(r, dict) and all(k in r for k in keys))), None)
    if bad is not None:
        found = ", ".join(bad) if isinstance(bad, dict) else type(bad).__name__
        raise SeqlitError(f"{where}: {translation_column!r} rows hold {found}, not {keys[0]!r} and {keys[1]!r}: "
                          "set data.init_args.source_key / target_key")
    return [r[source_key] for r in rows], [r[target_key] for r in rows]


def nonempty(batch: dict, *, source_key: str, target_key: str, translation_column: str, where: str) -> list[bool]:
    """`Dataset.filter` function: pairs whose two sides both hold some text."""
    sources, targets = sides(batch, source_key, target_key, translation_column, where)
    return [bool((s or "").strip()) and bool((t or "").strip()) for s, t in zip(sources, targets)]


def encode(batch: dict, indices: list[int], *, source_key: str, target_key: str | None, translation_column: str,
           kind: str, lowercase: bool, source_vocab: tuple[str, ...], target_vocab: tuple[str, ...],
           max_length: int | None, line_numbers: tuple[int, ...] | None, where: str, name: str) -> dict:
    """Pairs -> `source_ids`, `source`, `index`, `length` and, with `target_key`, `target_ids`, `reference`
    (the target tokenized and detokenized). With `max_length`, pairs with a longer side are left out
    (the batch returns fewer rows). `line_numbers`: the `index` of each row (a predict file's line numbers)."""
    src_vocab, tgt_vocab = vocabulary(source_vocab), vocabulary(target_vocab)
    sources, targets = sides(batch, source_key, target_key, translation_column, where)
    out = {"source_ids": [], "source": [], "index": [], "length": [], **({"target_ids": [], "reference": []} if target_key else {})}
    for i, source, target in zip(indices, sources, targets):
        ids = src_vocab.encode(tokenize(source, kind, lowercase))
        index = line_numbers[i] if line_numbers is not None else i
        if not ids:
            raise SeqlitError(f"{name}: source {index} (counting from 0) is empty")
        if target_key:
            tokens = tokenize(target, kind, lowercase)
            if max_length is not None and max(len(ids), len(tokens)) > max_length:
                continue
            out["target_ids"].append(tgt_vocab.encode(tokens))
            out["reference"].append(detokenize(tokens, kind))
        out["source_ids"].append(ids)
        out["source"].append(source)
        out["index"].append(index)
        out["length"].append(len(ids))
    return out
