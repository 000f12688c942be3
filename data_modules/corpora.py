"""Text that ships with Python, so the quickstart needs no download and no account.

`embedded:pydoc_topics` is the text of Python's interactive help topics
(`pydoc_data.topics`, about 465k characters of English prose and code).
"""

from __future__ import annotations

import datasets

from seqlit.errors import SeqlitError

PREFIX = "embedded:"


def _pydoc_topics() -> list[str]:
    from pydoc_data.topics import topics

    return [line for key in sorted(topics) for line in topics[key].splitlines()]


EMBEDDED = {"pydoc_topics": _pydoc_topics}


def is_embedded(path: str) -> bool:
    return path.startswith(PREFIX)


def load_embedded(path: str) -> datasets.Dataset:
    """One row per line, in a fixed order (topics sorted by name)."""
    name = path[len(PREFIX) :]
    if name not in EMBEDDED:
        raise SeqlitError(f"unknown embedded corpus {path!r}: choose one of {', '.join(PREFIX + k for k in EMBEDDED)}")
    return datasets.Dataset.from_dict({"text": EMBEDDED[name]()})
