"""What every runtime model's `predict_text` shares with `predict`: numbered non-blank texts, and the records of blank ones."""

from __future__ import annotations

from .errors import ModelFolderError


def numbered(texts) -> list[tuple[int, str]]:
    """(index, text) of the non-blank texts; a non-string is one line naming its position."""
    if isinstance(texts, str):
        raise ModelFolderError("predict_text takes a list of texts: wrap a single text in a list")
    out = []
    for i, text in enumerate(texts):
        if not isinstance(text, str):
            raise ModelFolderError(f"predict_text: item {i} is a {type(text).__name__}, not a string")
        if text.strip():
            out.append((i, text))
    return out


def with_blank(records: list[dict], count: int) -> list[dict]:
    """`records` with `{"index": i, "skipped": "blank line"}` for each blank text, in order (as `predict` writes)."""
    seen = {r["index"] for r in records}
    return sorted(records + [{"index": i, "skipped": "blank line"} for i in range(count) if i not in seen],
                  key=lambda r: r["index"])
