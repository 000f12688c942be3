"""Seeds seqlit accepts: what Lightning's `seed_everything` accepts, 0 to 2**32 - 1 (numpy's range).

Outside it Lightning silently picks a random seed and torch overflows; both are refused in one line, for
`--seed_everything` and `generate --seed` (whose samples use seed, seed+1, …).
"""

from __future__ import annotations

from seqlit.errors import SeqlitError

MAX_SEED = 2**32 - 1


def check_seed(seed: int, option: str, count: int = 1) -> None:
    """`seed` … `seed + count - 1` all within 0 … MAX_SEED, or one line naming `option`."""
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0 or seed + count - 1 > MAX_SEED:
        also = f" (its {count} samples use seeds {seed} to {seed + count - 1})" if count > 1 and isinstance(seed, int) else ""
        raise SeqlitError(f"{option} {seed}{also} is out of range: a seed is a whole number from 0 to {MAX_SEED} "
                          "(what seed_everything accepts)")
