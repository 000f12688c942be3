"""Tiny conditional corpora: a play in Tiny Shakespeare's layout ('NAME:' lines, the speech, a blank line between
turns), and JSON lines whose two condition columns decide the text."""

from __future__ import annotations

import json
from pathlib import Path

# ROMEO and JULIET speak often and in their own words; NURSE twice, in training only; PAGE once, in test only
SPEECH = {"ROMEO": "I love thee, fair one.", "JULIET": "Come, gentle night,\ncome soon."}


def play(n_turns: int = 400) -> list[tuple[str, str]]:
    """(speaker, speech) turns; turn 3 and 5 are the NURSE's, the last turn the PAGE's."""
    turns = [("ROMEO", SPEECH["ROMEO"]), ("JULIET", SPEECH["JULIET"])] * (n_turns // 2)
    turns[3] = ("NURSE", "Madam!")
    turns[5] = ("NURSE", "Anon!")
    turns[-1] = ("PAGE", "My lord.")
    return turns


def write_play(path: Path, n_turns: int = 400) -> Path:
    path.write_text("".join(f"{name}:\n{speech}\n\n" for name, speech in play(n_turns)), encoding="utf-8")
    return path


# two condition fields that decide the text: the mood its first word, the place its last
MOOD = {"happy": "smiles", "sad": "tears"}
PLACE = {"city": "street", "sea": "waves"}


def fields_text(mood: str, place: str) -> str:
    return f"{MOOD.get(mood, 'sighs')} by the {PLACE.get(place, 'dunes')}"


def write_fields_corpus(folder: Path, per_pair: int = 40) -> Path:
    """train / validation / test JSON lines: `text` and two string columns, `mood` and `place`.

    Training holds `per_pair` rows of every (mood, place) and two rows with a field missing (null), left out;
    validation's last row is at a place training never saw (`desert`: the place's <unk>)."""
    folder.mkdir(parents=True, exist_ok=True)
    pairs = [(m, p) for m in MOOD for p in PLACE]
    splits = {"train": pairs * per_pair + [("happy", None), (None, "sea")],
              "validation": pairs + [("sad", "desert")], "test": pairs}
    for split, rows in splits.items():
        lines = [json.dumps({"text": fields_text(m, p), "mood": m, "place": p}) for m, p in rows]
        (folder / f"{split}.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return folder
