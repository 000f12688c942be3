"""Why Tiny Shakespeare's test split costs 0.2+ bits/char more than validation: bits per character by play and line kind.

The file is cut by lines, 90/5/5, in order. Validation is the middle of The
Taming of the Shrew, a play whose characters the training split has met; the
test split is the Shrew's last 565 lines followed by the opening of The
Tempest, a play (and a cast: Prospero, Miranda, Ariel, Gonzalo …) that never
occurs in training. This script scores a trained character model on both
splits as one stream each (state carried, as in evaluation) and breaks the
bits down by play and by line kind (speaker tags such as "PROSPERO:" versus
the spoken text), so the gap can be read rather than guessed.

    python bench/shakespeare_test_gap.py --ckpt_path runs/seqlit/<run>/checkpoints/best-….ckpt \
        --file ../shared/data/tiny_shakespeare/input.txt
"""

from __future__ import annotations

import argparse
import math
import re
import sys
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from seqlit.errors import SeqlitError  # noqa: E402
from seqlit.cli.generate import load_language_model  # noqa: E402

SPEAKER = re.compile(r"^[A-Za-z][A-Za-z' ]*:$")
TEMPEST_OPENS = ["Master:", "Boatswain!"]  # the first two lines of The Tempest in this file
CHUNK = 512  # characters per forward; the state is carried between chunks


@torch.no_grad()
def char_nll(model, ids: torch.Tensor) -> torch.Tensor:
    """Negative log-likelihood (nats) of ids[1:] given everything before, as one stream."""
    state, out = None, []
    for start in range(0, len(ids) - 1, CHUNK):
        window = ids[start : min(start + CHUNK, len(ids) - 1)][None]
        targets = ids[start + 1 : start + 1 + window.shape[1]][None]
        logp, state = model.step(window, state)
        out.append(-logp.gather(-1, targets[..., None])[0, :, 0])
    return torch.cat(out)


def is_speaker(lines: list[str], i: int) -> bool:
    """A speaker tag ("PROSPERO:", "First Servingman:") opens a speech: it follows a blank line."""
    return bool(SPEAKER.match(lines[i])) and (i == 0 or not lines[i - 1].strip())


def line_groups(lines: list[str], play_of_line: list[str]) -> list[tuple[str, str]]:
    """(play, kind of line) for every character: each line's characters and its newline."""
    labels = []
    for i, (line, play) in enumerate(zip(lines, play_of_line)):
        kind = "speaker tags" if is_speaker(lines, i) else ("blank lines" if not line.strip() else "spoken text")
        labels += [(play, kind)] * (len(line) + 1)
    return labels


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--ckpt_path", required=True, help="a character-level LanguageModel checkpoint")
    p.add_argument("--file", required=True, help="tiny_shakespeare/input.txt")
    args = p.parse_args()
    try:
        model, dm = load_language_model(args.ckpt_path)
        if dm.level != "char":
            raise SeqlitError(f"{args.ckpt_path} is a {dm.level}-level model; pass a character-level checkpoint")
        dm.path = args.file
        splits = {s: [line for batch in dm.text_batches(s) for line in batch] for s in ("train", "validation", "test")}
    except SeqlitError as err:
        sys.exit(f"shakespeare_test_gap: {err}")
    train_text = "\n".join(splits["train"])
    rows = []
    for split in ("validation", "test"):
        lines = splits[split]
        opens = next((i for i in range(len(lines) - 1) if lines[i : i + 2] == TEMPEST_OPENS), len(lines))
        plays = ["Shrew" if i < opens else "Tempest" for i in range(len(lines))]
        labels = line_groups(lines, plays)[1:]  # the first character is context, not predicted
        nll = char_nll(model, torch.from_numpy(dm.encoded(split).astype("int64")))
        assert len(labels) == len(nll), (len(labels), len(nll))
        total = nll.sum().item()
        groups = [("all", lambda g: True)]
        for play in sorted({p for p, _ in labels}, reverse=True):
            groups.append((f"{play}, all", lambda g, play=play: g[0] == play))
            groups += [(f"{play} / {kind}", lambda g, group=(play, kind): g == group)
                       for kind in ("speaker tags", "spoken text", "blank lines") if (play, kind) in labels]
        for name, member in groups:
            mask = torch.tensor([member(g) for g in labels])
            bits = nll[mask].sum().item()
            rows.append((split, name, int(mask.sum()), bits / int(mask.sum()) / math.log(2), bits / total))
        speakers = sorted({line[:-1] for i, (line, play) in enumerate(zip(lines, plays))
                           if play == "Tempest" and is_speaker(lines, i)})
        unseen = [s for s in speakers if f"\n{s}:\n" not in train_text]
        if speakers:
            print(f"{split}: The Tempest from line {opens} of {len(lines)}; its speakers never in training: "
                  f"{len(unseen)} of {len(speakers)} ({', '.join(unseen[:8])}{' …' if len(unseen) > 8 else ''})")
    print(f"\ncheckpoint: {args.ckpt_path}\n")
    print("| split | characters | count | bits/char | share of the split's bits |")
    print("|---|---|---:|---:|---:|")
    for split, group, count, bpc, share in rows:
        print(f"| {split} | {group} | {count:,} | {bpc:.3f} | {share:.0%} |")


if __name__ == "__main__":
    main()
