"""Word vectors from a standard text file, matched to a vocabulary.

GloVe, word2vec text and fastText `.vec` (gzipped or not) are one format: streamed, keeping only the
vocabulary's vectors, so a 2 GB file costs the vocabulary's memory. A word without an exact match takes the
file's first case-insensitive match: files are sorted by frequency, so that is the most common casing.
"""

from __future__ import annotations

import gzip
import io
import os
from collections.abc import Iterator
from typing import TypeVar

import torch

from seqlit.errors import SeqlitError

T = TypeVar("T")


def match(tokens: list[str], exact: dict[str, T], lower: dict[str, T], skip: set[int] = frozenset()
          ) -> tuple[dict[int, T], int, int]:
    """Row of `tokens` -> its entry: `exact[token]`, else `lower[token.lower()]`.

    `lower` is keyed by lower-cased words and holds the first entry of each. Rows in `skip` (the padding
    row) get nothing. Returns the matches and how many were exact and how many only lower-cased.
    """
    found, n_exact = {}, 0
    for row, token in enumerate(tokens):
        if row in skip:
            continue
        if token in exact:
            found[row], n_exact = exact[token], n_exact + 1
        elif token.lower() in lower:
            found[row] = lower[token.lower()]
    return found, n_exact, len(found) - n_exact


def _lines(path: str) -> Iterator[tuple[int, str]]:
    """(line number, text) of a UTF-8 text file, gzipped or not (told by its first bytes, not its name)."""
    with open(path, "rb") as f:
        zipped = f.read(2) == b"\x1f\x8b"
    raw = gzip.open(path, "rb") if zipped else open(path, "rb")
    with io.TextIOWrapper(raw, encoding="utf-8", newline=None) as text:
        number = 0
        try:
            for number, line in enumerate(text, 1):
                yield number, line.rstrip("\n\r")
        except UnicodeDecodeError as err:
            raise SeqlitError(f"model.pretrained.vectors {path!r} is not UTF-8 text ({err.reason}): "
                              "pass a text vector file (GloVe, word2vec text, fastText .vec; word2vec's binary .bin "
                              "must be converted to text first)") from None
        except (OSError, EOFError) as err:  # a truncated or corrupt gzip file
            raise SeqlitError(f"model.pretrained.vectors {path!r} cannot be read past line {number} ({err}): "
                              "the file is truncated or damaged, download it again") from None


def read_vectors(path: str | os.PathLike, tokens: list[str], dim: int, skip: set[int] = frozenset()
                 ) -> tuple[dict[int, torch.Tensor], int, int]:
    """The vectors of `tokens` (row -> (dim,) tensor) found in the file at `path`, and how many matched exactly
    and lower-cased. A file whose vectors are not `dim` wide is refused at its first line."""
    path = os.fspath(path)
    if not os.path.isfile(path):
        raise SeqlitError(f"model.pretrained.vectors {path!r} does not exist: pass a GloVe / word2vec / fastText "
                          "text file (or its .gz)")
    wanted = set(tokens)
    wanted_lower = {t.lower() for t in tokens}
    exact: dict[str, torch.Tensor] = {}
    lower: dict[str, torch.Tensor] = {}
    width = None
    for number, line in _lines(path):
        if width is None:
            fields = line.split()
            if len(fields) == 2 and all(f.isdigit() for f in fields):  # word2vec / fastText header: count dim
                width = int(fields[1])
                _check_width(path, width, dim)
                continue
            width = len(fields) - 1
            _check_width(path, width, dim)
        parts = line.rstrip().rsplit(" ", width)  # the word itself may hold spaces (GloVe 840B has a few)
        if len(parts) != width + 1 or not parts[0]:
            if not line.strip():
                continue
            raise SeqlitError(f"model.pretrained.vectors {path!r} line {number} has {len(parts) - 1} numbers after "
                              f"its word where the file's vectors have {width}: fix or remove that line")
        word, key = parts[0], parts[0].lower()
        new_exact, new_lower = word in wanted and word not in exact, key in wanted_lower and key not in lower
        if new_exact or new_lower:
            try:
                vector = torch.tensor([float(x) for x in parts[1:]])
            except ValueError:
                raise SeqlitError(f"model.pretrained.vectors {path!r} line {number}: the numbers after {word!r} are "
                                  "not all numbers: fix or remove that line") from None
            if new_exact:
                exact[word] = vector
            if new_lower:
                lower[key] = vector
    if width is None:
        raise SeqlitError(f"model.pretrained.vectors {path!r} holds no vectors: pass a GloVe / word2vec / fastText text file")
    return match(tokens, exact, lower, skip)


def _check_width(path: str, width: int, dim: int) -> None:
    if width != dim:
        raise SeqlitError(f"model.pretrained.vectors {path!r} holds {width}-dimensional vectors but the model's word "
                          f"embedding has {dim}: set --model.init_args.embedding_dim {width}")
