"""Text as the data modules read it: the same tokenizer regexes, word keys and casing classes.

Copies, because the runtime imports no seqlit module; tests/deploy/test_runtime.py proves them equal to
data_modules' own (tagging_files.TOKEN, tagging_encode.casing/word_key, sentiment_encode.TOKEN) and the
span reading equal to seqlit.metrics.bio_spans (seqeval's), so a change there fails a test here.
"""

from __future__ import annotations

import re

import numpy as np

TAGGING_TOKEN = re.compile(
    r"""
    (?:[^\W\d_]\.){2,}                          # abbreviations: U.S.  e.g.
  | \d+(?:[.,:/-]\d+)*[^\W_]*                   # numbers: 1,000  3.5  12:30  1996-08-22  3-1  1990s
  | \w+(?=n't\b)                                # do|n't
  | n't\b | '(?:s|re|ve|ll|d|m)\b               # clitics: n't 's 're 've 'll 'd 'm
  | \w+(?:-\w+|'(?!(?:s|re|ve|ll|d|m)\b)\w+|&\w+)*   # words: well-known  O'Neill  AT&T
  | \S                                          # anything else, one character at a time
""",
    re.X | re.I,
)
SENTIMENT_TOKEN = re.compile(r"\w+(?=n't\b)|n't\b|'\w+|\w+(?:-\w+)*|[^\w\s]")
OUTSIDE = ("O", ".")


def tagging_tokens(text: str) -> tuple[list[str], list[tuple[int, int]]]:
    matches = list(TAGGING_TOKEN.finditer(text))
    return [m.group() for m in matches], [m.span() for m in matches]


def casing(token: str) -> int:
    """Index of a token's capitalisation class: <pad>, lower, upper, title, digit, other."""
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
    key = token.lower() if lowercase else token
    return re.sub(r"\d", "0", key) if normalize_digits else key


def pad(rows: list[list[int]], value: int) -> np.ndarray:
    out = np.full((len(rows), max(map(len, rows))), value, dtype=np.int64)
    for i, row in enumerate(rows):
        out[i, : len(row)] = row
    return out


def spans(tags: list[str]) -> list[tuple[str, int, int]]:
    """Entity spans (type, first, last) of a tag sequence, read as seqeval reads it (seqlit.metrics.bio_spans)."""
    found, prev_tag, prev_type, begin = [], "O", "", 0
    for i, label in enumerate([*tags, "O"]):
        tag, type_ = label[0], label[1:].split("-", maxsplit=1)[-1] or "_"
        if prev_tag in ("E", "S") or (prev_tag in ("B", "I") and tag in ("B", "S", "O")) or \
                (prev_tag not in OUTSIDE and prev_type != type_):
            found.append((prev_type, begin, i - 1))
        if tag in ("B", "S") or (tag in ("I", "E") and prev_tag in ("O", "E", "S")) or \
                (tag not in OUTSIDE and prev_type != type_):
            begin = i
        prev_tag, prev_type = tag, type_
    return found


# the encoder–decoder's (data_modules/parallel_encode.py): words with inner hyphens / apostrophes, or single marks
PARALLEL_TOKEN = re.compile(r"\w+(?:[-'’]\w+)*|[^\w\s]")
NO_SPACE_BEFORE = re.compile(r" ([.,!?;:%)\]}])")
NO_SPACE_AFTER = re.compile(r"([(\[{$]) ")


def parallel_tokens(text: str, kind: str, lowercase: bool) -> list[str]:
    """`word`: words and punctuation marks (lower-cased with `lowercase`); `char`: every character."""
    if kind == "char":
        return list(text)
    return PARALLEL_TOKEN.findall(text.lower() if lowercase else text)


def parallel_detokenize(tokens: list[str], kind: str) -> str:
    if kind == "char":
        return "".join(tokens)
    return NO_SPACE_AFTER.sub(r"\1", NO_SPACE_BEFORE.sub(r"\1", " ".join(tokens)))
