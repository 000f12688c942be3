"""Argument types that say their own range, so a config's bad size or rate is refused when it is parsed.

jsonargparse checks these when a config or the command line gives the value (one error naming the key);
in Python they are plain ints and floats, and the modules check them themselves.

A parsed value keeps its type (an `int` subclass), also when a config swaps the section's class: the
value `hidden_size: 200` parsed for `seqlit.nn.Recurrent` stays a `PositiveInt` when the command line
names another backbone (`--model.init_args.backbone '{"class_path": …}'`), and jsonargparse then dumps
the section with `yaml.safe_dump`, which knows only exact ints and floats. The representers below write
these values as the plain numbers they are.
"""

import yaml
from jsonargparse.typing import PositiveInt, restricted_number_type

Rate = restricted_number_type("Rate", float, [(">=", 0), ("<", 1)], docstring="a probability in [0, 1)")

yaml.SafeDumper.add_representer(PositiveInt, yaml.representer.SafeRepresenter.represent_int)
yaml.SafeDumper.add_representer(Rate, yaml.representer.SafeRepresenter.represent_float)

__all__ = ["PositiveInt", "Rate"]
