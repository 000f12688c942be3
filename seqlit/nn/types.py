"""Argument types that say their own range, so a config's bad size or rate is refused when it is parsed.

jsonargparse checks them when a config or the command line gives the value; in Python, a constructor hands its
sizes and rates to `check`, which asks the same types. A parsed value keeps its `int` subclass even when a
config swaps the section's class, and jsonargparse dumps sections with `yaml.safe_dump`, which knows only exact
ints and floats: the representers below write these values as plain numbers.
"""

import yaml
from jsonargparse.typing import PositiveInt, restricted_number_type

from seqlit.errors import SeqlitError

Rate = restricted_number_type("Rate", float, [(">=", 0), ("<", 1)], docstring="a probability in [0, 1)")

yaml.SafeDumper.add_representer(PositiveInt, yaml.representer.SafeRepresenter.represent_int)
yaml.SafeDumper.add_representer(Rate, yaml.representer.SafeRepresenter.represent_float)

WHAT = {PositiveInt: "a positive integer", Rate: "a number in [0, 1)"}


def check(owner: str, kind: type, **values) -> None:
    """Refuse, in one SeqlitError naming `owner` and the argument, the first value `kind` does not take.

    Stricter than `kind(value)` alone, which would round 4.0 to 4 and read True as 1."""
    for name, value in values.items():
        plain = isinstance(value, int) if kind is PositiveInt else isinstance(value, int | float)
        try:
            if isinstance(value, bool) or not plain:
                raise TypeError(value)
            kind(value)
        except (TypeError, ValueError):
            raise SeqlitError(f"{owner}: {name} must be {WHAT[kind]}, got {value!r}") from None


__all__ = ["PositiveInt", "Rate", "check"]
