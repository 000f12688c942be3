"""A tiny German -> English corpus in Multi30k's format (columns `de`, `en`; one sentence pair per row)."""

from __future__ import annotations

import json
from pathlib import Path

import datasets

SUBJECTS = {"der Hund": "the dog", "die Katze": "the cat", "ein Mann": "a man", "eine Frau": "a woman",
            "das Kind": "the child"}
VERBS = {"sieht": "sees", "mag": "likes", "findet": "finds", "sucht": "looks for"}
OBJECTS = {"den Ball": "the ball", "einen Baum": "a tree", "das Haus": "the house", "den Fluss": "the river"}


def upper_first(text: str) -> str:
    return text[0].upper() + text[1:]


def pairs(n: int, offset: int = 0) -> tuple[list[str], list[str]]:
    """`n` (German, English) sentences, cycling through every subject / verb / object combination."""
    s, v, o = list(SUBJECTS), list(VERBS), list(OBJECTS)
    de, en = [], []
    for i in range(offset, offset + n):
        a, b, c = s[i % 5], v[(i // 5) % 4], o[(i // 20) % 4]
        de.append(upper_first(f"{a} {b} {c}."))
        en.append(upper_first(f"{SUBJECTS[a]} {VERBS[b]} {OBJECTS[c]}."))
    return de, en


SIZES = {"train": (160, 0), "validation": (20, 3), "test": (20, 7)}


def write_corpus(folder: Path, fmt: str = "parquet") -> Path:
    """train / validation / test as parquet, tsv or jsonl files (columns de, en), or WMT-style jsonl
    rows `{"translation": {"de": …, "en": …}}` (fmt `wmt`), or aligned `<split>.de` / `<split>.en` text files."""
    folder.mkdir(parents=True, exist_ok=True)
    for split, (n, offset) in SIZES.items():
        de, en = pairs(n, offset)
        if fmt == "parquet":
            datasets.Dataset.from_dict({"en": en, "de": de}).to_parquet(str(folder / f"{split}.parquet"))
        elif fmt == "tsv":
            (folder / f"{split}.tsv").write_text("de\ten\n" + "".join(f"{d}\t{e}\n" for d, e in zip(de, en)), encoding="utf-8")
        elif fmt == "wmt":
            rows = (json.dumps({"translation": {"de": d, "en": e}}, ensure_ascii=False) + "\n" for d, e in zip(de, en))
            (folder / f"{split}.jsonl").write_text("".join(rows), encoding="utf-8")
        elif fmt == "text":
            stem = "val" if split == "validation" else split  # the raw Multi30k release names it val.de / val.en
            (folder / f"{stem}.de").write_text("\n".join(de) + "\n", encoding="utf-8")
            (folder / f"{stem}.en").write_text("\n".join(en) + "\n", encoding="utf-8")
        else:
            raise ValueError(fmt)
    return folder
