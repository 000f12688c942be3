"""Condition fields: the categorical inputs a conditional language model writes under, and how a person names them.

A model reads one or more fields (a label column, a topic column, Tiny
Shakespeare's speaker), each with its own names in id order: `Fields` maps
field -> names, in the order the model concatenates their embeddings. A
column's names are its `ClassLabel` names when it has them (the order its
ids already have), else the sorted string values of the training rows after
`<unk>`, which every value training never saw maps to (as rare speakers do).

`generate --condition` (and `SampleText(condition=…)`) names a value per
field, `label=positive,topic=news`; a model of one field also takes the bare
name (`positive`, `ROMEO`), as before several fields existed. Every way of
getting it wrong is one line naming what the checkpoint knows.

Checkpoints written before several fields held one `condition_names` list;
`upgrade_state` reads such a state as one field, named by the data module.
"""

from __future__ import annotations

from data_modules.sentiment import UNLABELLED, label_names_of
from seqlit.errors import SeqlitError
from seqlit.vocab import UNK

Fields = dict[str, list[str]]


def column_names(train, column: str, path: str, label_names: list[str] | None = None) -> list[str]:
    """Names of condition column `column` read from the training split `train` (see the module docstring).

    `label_names` names the ids of a number column that has no `ClassLabel` (one condition column only)."""
    feature = train.features[column]
    if label_names or hasattr(feature, "names"):
        return list(label_names or feature.names)
    values = {v for v in train[column][:] if v is not None and v != UNLABELLED}
    if values and all(isinstance(v, str) for v in values):
        return [UNK, *sorted(values - {UNK})]
    return label_names_of(train, column, path)  # numbers with no names: its one line says how to name them


def upgrade_state(state: dict, field: str) -> dict:
    """A vocabulary state with `condition_fields`; one of the one-field layout (`condition_names`) becomes `field`."""
    if "condition_fields" in state:
        return state
    rest = {k: v for k, v in state.items() if k != "condition_names"}
    return {**rest, "condition_fields": {field: list(state["condition_names"])}}


def quoted(names: list[str]) -> str:
    return ", ".join(map(repr, names))


def usage(fields: Fields) -> str:
    """How to name a condition of `fields`: `one of 'negative', 'positive'`, or the FIELD=NAME form and each field's names."""
    if len(fields) == 1:
        return f"one of {quoted(next(iter(fields.values())))}"
    return (f"{','.join(f'{f}=NAME' for f in fields)} "
            f"({'; '.join(f'{f}: {quoted(names)}' for f, names in fields.items())})")


def condition_ids(text: str | None, fields: Fields) -> list[int]:
    """The id of each field's value in `text` (`label=positive,topic=news`, or `positive` for one field), in field order."""
    if text is None:
        raise SeqlitError(f"this checkpoint writes under a condition: pass --condition, {usage(fields)}")
    if len(fields) == 1:
        (field, names), = fields.items()
        if text in names:
            return [names.index(text)]
        if "=" not in text:
            raise SeqlitError(f"unknown condition {text!r}: the model knows {quoted(names)}")
    elif "=" not in text:
        raise SeqlitError(f"--condition {text!r} names no field, and this model reads {len(fields)} "
                          f"({', '.join(fields)}): pass {usage(fields)}")
    chosen: dict[str, str] = {}
    for part in text.split(","):
        field, eq, value = (s.strip() for s in part.partition("="))
        if not eq:
            raise SeqlitError(f"--condition {text!r}: {part.strip()!r} is not FIELD=NAME: pass {usage(fields)}")
        if field not in fields:
            raise SeqlitError(f"unknown condition field {field!r}: the model knows {quoted(list(fields))}")
        if field in chosen:
            raise SeqlitError(f"--condition {text!r} names field {field!r} twice: name each of {', '.join(fields)} once")
        if value not in fields[field]:
            raise SeqlitError(f"unknown condition {field}={value!r}: the model knows {field} {quoted(fields[field])}")
        chosen[field] = value
    missing = [f for f in fields if f not in chosen]
    if missing:
        raise SeqlitError(f"--condition {text!r} lacks {', '.join(missing)}: pass {usage(fields)}")
    return [fields[f].index(chosen[f]) for f in fields]
