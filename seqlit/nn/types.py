"""Argument types that say their own range, so a config's bad size or rate is refused when it is parsed.

jsonargparse checks these when a config or the command line gives the value (one error naming the key);
in Python they are plain ints and floats, and the modules check them themselves.
"""

from jsonargparse.typing import PositiveInt, restricted_number_type

Rate = restricted_number_type("Rate", float, [(">=", 0), ("<", 1)], docstring="a probability in [0, 1)")

__all__ = ["PositiveInt", "Rate"]
