"""Reading what a tagger reads: CoNLL column files, and raw sentences to tag with their character offsets.

CoNLL-format text (`.conll` / `.txt`): one token per line, the token in the
first column and its tag in the last, a blank line between sentences,
`-DOCSTART-` lines skipped. Raw text is cut into tokens by a regex close to
CoNLL-2003's own tokenization, keeping each token's character span, so a
prediction can point back into the line it came from.
"""

from __future__ import annotations

import re
from functools import partial
from itertools import chain
from pathlib import Path

import datasets

from data_modules.loading import read_lines
from seqlit.errors import SeqlitError

CONLL_SUFFIXES = (".conll", ".txt")

# Roughly the CoNLL-2003 (Reuters) tokenization: clitics and punctuation apart, numbers whole.
TOKEN = re.compile(
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


def tokenize(text: str) -> tuple[list[str], list[tuple[int, int]]]:
    """Tokens of raw text and their (start, end) character offsets."""
    matches = list(TOKEN.finditer(text))
    return [m.group() for m in matches], [m.span() for m in matches]


def align(text: str, tokens: list[str], where: str) -> list[tuple[int, int]]:
    """Character offsets of given tokens, found left to right in `text`."""
    offsets, cursor = [], 0
    for token in tokens:
        start = text.find(token, cursor)
        if start < 0:
            raise SeqlitError(f"{where}: token {token!r} is not in its \"text\" after character {cursor}: fix the tokens or drop \"text\"")
        offsets.append((start, start + len(token)))
        cursor = start + len(token)
    return offsets


def read_conll(path: Path, tokens_column: str, tags_column: str) -> datasets.Dataset:
    """CoNLL columns -> a Dataset of sentences (token = first column, tag = last)."""
    sentences: dict[str, list] = {tokens_column: [], tags_column: []}
    tokens: list[str] = []
    tags: list[str] = []
    for lineno, line in enumerate(chain(read_lines(path), [""]), 1):  # the blank line added ends the last sentence
        fields = line.split()
        if not fields or fields[0] == "-DOCSTART-":
            if tokens:
                sentences[tokens_column].append(tokens)
                sentences[tags_column].append(tags)
                tokens, tags = [], []
            continue
        if len(fields) < 2:
            raise SeqlitError(f"{path}:{lineno}: expected a token and a tag separated by whitespace, got {line.strip()!r}")
        tokens.append(fields[0])
        tags.append(fields[-1])
    return datasets.Dataset.from_dict(sentences)


def conll_readers(tokens_column: str, tags_column: str) -> dict:
    """`load_splits` readers: CoNLL text for the CoNLL suffixes (parquet/json/csv folders still load as such)."""
    return dict.fromkeys(CONLL_SUFFIXES, partial(read_conll, tokens_column=tokens_column, tags_column=tags_column))


def predict_sentences(lines: list[tuple[int, str | dict]], source: str) -> list[dict]:
    """Sentences to tag from numbered predict-file lines: `index` (line number), `text`, `tokens`, `offsets`."""
    examples = []
    for index, line in lines:
        where = f"{source}:{index + 1}"
        text, tokens, offsets = line, None, None
        if isinstance(line, dict):
            text, tokens = _json_sentence(line, where)
            if tokens is not None:
                text = " ".join(tokens) if text is None else text
                offsets = align(text, tokens, where)
        if tokens is None:
            tokens, offsets = tokenize(text)
        if tokens:
            examples.append({"index": index, "text": text, "tokens": tokens, "offsets": offsets})
    if not examples:
        raise SeqlitError(f"data.predict_file {source!r} holds no sentences: write one sentence per line")
    return examples


def _json_sentence(record: dict, where: str) -> tuple[str | None, list[str] | None]:
    text, tokens = record.get("text"), record.get("tokens")
    if tokens is not None and not (isinstance(tokens, list) and all(isinstance(t, str) and t for t in tokens)):
        raise SeqlitError(f"{where}: \"tokens\" must be a list of non-empty strings")
    if (text is not None and not isinstance(text, str)) or (text is None and tokens is None):
        raise SeqlitError(f"{where}: each line needs a \"text\" string or a \"tokens\" list")
    return text, tokens
