"""A tiny generated NER corpus in CoNLL format, so tagging tests need no download.

Imported by the tests as a plain module (pytest puts this folder on sys.path).
"""

from __future__ import annotations

import random
from pathlib import Path


PEOPLE = [["John", "Smith"], ["Maria"], ["Ali", "Khan"], ["Olga"], ["Peter", "van", "Dijk"]]
PLACES = [["Paris"], ["New", "York"], ["Berlin"], ["Lagos"], ["Hong", "Kong"]]
ORGS = [["Reuters"], ["United", "Nations"], ["Siemens"]]
TEMPLATES = [
    ["{PER}", "lives", "in", "{LOC}", "."],
    ["{PER}", "works", "for", "{ORG}", "in", "{LOC}", "."],
    ["{ORG}", "said", "on", "Monday", "that", "{PER}", "left", "."],
    ["In", "1996", ",", "{PER}", "visited", "{LOC}", "."],
]
SHARED_DATA = Path(__file__).resolve().parents[2].parent / "shared" / "data"


def sentence(rng: random.Random) -> list[tuple[str, str]]:
    """One (token, tag) sentence with IOB2 tags."""
    pools = {"PER": PEOPLE, "LOC": PLACES, "ORG": ORGS}
    out = []
    for slot in rng.choice(TEMPLATES):
        if slot.startswith("{"):
            kind = slot[1:-1]
            words = rng.choice(pools[kind])
            out += [(w, ("B-" if i == 0 else "I-") + kind) for i, w in enumerate(words)]
        else:
            out.append((slot, "O"))
    return out


def write_conll(path: Path, sentences: list[list[tuple[str, str]]], docstart: bool = True) -> Path:
    """Token, a dummy POS column and the tag; -DOCSTART- first, as in the CoNLL-2003 files."""
    lines = ["-DOCSTART- -X- O", ""] if docstart else []
    for s in sentences:
        lines += [f"{token} NN {tag}" for token, tag in s] + [""]
    path.write_text("\n".join(lines), encoding="utf-8")
    return path


def make_conll_dir(folder: Path) -> Path:
    """train.conll / valid.conll / test.conll with 60 / 12 / 12 sentences."""
    rng = random.Random(0)
    folder.mkdir()
    for split, n in (("train", 60), ("valid", 12), ("test", 12)):
        write_conll(folder / f"{split}.conll", [sentence(rng) for _ in range(n)])
    return folder
