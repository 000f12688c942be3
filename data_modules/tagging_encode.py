"""The tagger's two `Dataset.map` functions: check and normalise a split's rows, then encode them to ids.

Top-level functions with everything they depend on in their arguments, so
`datasets` fingerprints them (source + vocabulary + options) and a second run
with the same inputs reads the cached Arrow file instead of encoding again.
A bad row raises `SeqlitError` inside the map, which `datasets` aborts
before its cache file is moved into place, so nothing half-written is kept.
"""

from __future__ import annotations

import re
from functools import lru_cache

from seqlit.errors import SeqlitError
from seqlit.metrics import to_iob2

CASINGS = ("<pad>", "lower", "upper", "title", "digit", "other")


def casing(token: str) -> int:
    """Index into CASINGS of a token's capitalisation class."""
    if any(c.isdigit() for c in token):
        return 4
    if token.islower():
        return 1
    if token.isupper():
        return 2
    if token.istitle():
        return 3
    return 5


def word_key(token: str, lowercase: bool, normalize_digits: bool) -> str:
    """The word-vocabulary form of a token."""
    key = token.lower() if lowercase else token
    return re.sub(r"\d", "0", key) if normalize_digits else key


def normalise(batch: dict, indices: list[int], *, tokens_column: str, tags_column: str, names: list[str] | None,
              iob2: bool, where: str) -> dict:
    """Rows -> `tokens`, `tags` (names, IOB2 unless `iob2` is false) and `opened` (the B- tags IOB2 made)."""
    out = {"tokens": [], "tags": [], "opened": []}
    for i, tokens, tags in zip(indices, batch[tokens_column], batch[tags_column]):
        here = f"{where} sentence {i}"
        if not tokens:
            raise SeqlitError(f"{here} has no tokens: remove empty sentences from the data")
        if tags is None or len(tags) != len(tokens):
            raise SeqlitError(f"{here}: {len(tokens)} tokens but {len(tags or [])} {tags_column}: give one tag per token")
        tags = [tag_name(t, names, here, tags_column) for t in tags]
        converted = to_iob2(tags) if iob2 else tags
        out["tokens"].append(tokens)
        out["tags"].append(converted)
        out["opened"].append([b for a, b in zip(tags, converted) if a != b])
    return out


def tag_name(tag, names: list[str] | None, where: str, column: str) -> str:
    if isinstance(tag, str):
        return tag
    if names is None:
        raise SeqlitError(f"{where}: {column} holds integer ids without ClassLabel names: set --data.init_args.tag_names")
    if not 0 <= tag < len(names):
        raise SeqlitError(
            f"{where}: {column} value {tag} is outside the {len(names)} tag names "
            f"({', '.join(names)}): fix the data or set --data.init_args.tag_names"
        )
    return names[tag]


@lru_cache(maxsize=8)
def _index(tokens: tuple[str, ...]) -> dict[str, int]:
    return {t: i for i, t in enumerate(tokens)}


def encode(batch: dict, indices: list[int], *, words: tuple[str, ...], chars: tuple[str, ...], tag_names: tuple[str, ...] | None,
           lowercase: bool, normalize_digits: bool, max_word_length: int, max_length: int | None, where: str,
           tags_column: str) -> dict:
    """Normalised rows -> word ids, casing ids, character ids per token, tag ids, the words and the `length`;
    `cut` marks a sentence truncated to `max_length`. Without `tag_names` (predict), no tags."""
    word_ids, char_ids, tag_ids = _index(words), _index(chars), _index(tag_names) if tag_names else None
    word_unk, char_unk, char_pad = word_ids["<unk>"], char_ids["<unk>"], char_ids["<pad>"]
    out = {"input_ids": [], "casing": [], "chars": [], "tokens": [], "length": [], "cut": []}
    if tag_ids is not None:
        out["tags"] = []
    for i, tokens, tags in zip(indices, batch["tokens"], batch["tags"] if tag_ids is not None else batch["tokens"]):
        cut = bool(max_length) and len(tokens) > max_length
        tokens, tags = (tokens[:max_length], tags[:max_length]) if cut else (tokens, tags)
        if tag_ids is not None:
            unknown = next((t for t in tags if t not in tag_ids), None)
            if unknown is not None:
                raise SeqlitError(
                    f"{where} sentence {i}: {tags_column} value {unknown!r} is not among the "
                    f"tag names ({', '.join(tag_names)}): list every tag in --data.init_args.tag_names"
                )
            out["tags"].append([tag_ids[t] for t in tags])
        out["input_ids"].append([word_ids.get(word_key(t, lowercase, normalize_digits), word_unk) for t in tokens])
        out["casing"].append([casing(t) for t in tokens])
        out["chars"].append([[char_ids.get(c, char_unk) for c in t[:max_word_length]] or [char_pad] for t in tokens])
        out["tokens"].append(list(tokens))
        out["length"].append(len(tokens))
        out["cut"].append(cut)
    return out
