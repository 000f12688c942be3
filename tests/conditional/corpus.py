"""A tiny play in Tiny Shakespeare's layout: 'NAME:' lines, the speech, a blank line between turns."""

from __future__ import annotations

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
