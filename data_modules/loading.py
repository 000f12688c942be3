"""Turn a `path` into a `datasets.DatasetDict`: a hub id, a folder or a file.

Local folders hold one file per split, named after it (`train.parquet`,
`validation.csv`, `test.jsonl`, `valid.txt`, …); a single file is one `train`
split that the caller may cut. Hub ids are tried last, and failing to reach
the hub becomes one line that says how to pass local files instead.
"""

from __future__ import annotations

import os
from pathlib import Path

import datasets

from seqlit.errors import SeqlitError

# file suffix -> `datasets` builder
BUILDERS = {
    ".parquet": "parquet",
    ".csv": "csv",
    ".tsv": "csv",
    ".json": "json",
    ".jsonl": "json",
    ".txt": "text",
    ".txt.gz": "text",
    ".txt.bz2": "text",
}
SPLIT_ALIASES = {"train": "train", "validation": "validation", "valid": "validation", "dev": "validation", "test": "test"}


def _suffix(p: Path) -> str:
    name = p.name.lower()
    for suffix in sorted(BUILDERS, key=len, reverse=True):
        if name.endswith(suffix):
            return suffix
    return ""


def _split_files(folder: Path) -> tuple[str, dict[str, str]]:
    """Find `<split>.<ext>` files in a folder; one file format per folder, parquet preferred."""
    by_builder: dict[str, dict[str, str]] = {}
    for p in sorted(folder.iterdir()):
        suffix = _suffix(p)
        stem = p.name[: -len(suffix)] if suffix else ""
        if p.is_file() and suffix and stem.lower() in SPLIT_ALIASES:
            by_builder.setdefault(BUILDERS[suffix], {})[SPLIT_ALIASES[stem.lower()]] = str(p)
    for builder in ("parquet", "json", "csv", "text"):
        if builder in by_builder:
            return builder, by_builder[builder]
    raise SeqlitError(
        f"folder {str(folder)!r} holds no split files: expected train/validation/test files "
        f"with one of the suffixes {', '.join(BUILDERS)}"
    )


def load_splits(path: str, name: str | None = None) -> datasets.DatasetDict:
    """Load every split that `path` names. Never downloads when `path` exists on disk."""
    if not path:
        raise SeqlitError("data.path is empty: pass a hub dataset id or a local folder/file")
    p = Path(os.path.expanduser(path))
    if p.is_dir():
        builder, files = _split_files(p)
    elif p.is_file():
        suffix = _suffix(p)
        if not suffix:
            raise SeqlitError(f"file {path!r} has an unknown suffix: use one of {', '.join(BUILDERS)}")
        builder, files = BUILDERS[suffix], {"train": str(p)}
    else:
        return _load_hub(path, name)
    empty = [f for f in files.values() if os.path.getsize(f) == 0]
    if empty:
        raise SeqlitError(f"{empty[0]!r} is empty (0 bytes): give it some data")
    kwargs = {"delimiter": "\t"} if builder == "csv" and any(f.endswith(".tsv") for f in files.values()) else {}
    try:
        return datasets.load_dataset(builder, data_files=files, **kwargs)
    except UnicodeDecodeError as err:
        raise SeqlitError(f"{path!r} is not UTF-8 text ({err.reason} at byte {err.start}): re-encode it as UTF-8") from err
    except (ValueError, datasets.exceptions.DatasetGenerationError) as err:
        cause = err.__cause__ or err
        decode = next((e for e in _chain(err) if isinstance(e, UnicodeDecodeError)), None)
        if decode is not None:
            raise SeqlitError(f"{path!r} is not UTF-8 text ({decode.reason}): re-encode it as UTF-8") from err
        raise SeqlitError(f"cannot read {path!r} as {builder}: {str(cause).splitlines()[0]}") from err


def _chain(err: BaseException):
    """`err` and the exceptions it was raised from."""
    while err is not None:
        yield err
        err = err.__cause__ or err.__context__


def _load_hub(path: str, name: str | None) -> datasets.DatasetDict:
    looks_local = path.startswith((".", "/", "~")) or os.sep in path.strip("/").split("/", 1)[-1]
    if looks_local:
        raise SeqlitError(f"data.path {path!r} does not exist: pass an existing folder or file, or a hub dataset id")
    try:
        return datasets.load_dataset(path, name)
    except Exception as err:  # the hub raises many types: connection, not found, offline
        offline = os.environ.get("HF_DATASETS_OFFLINE") == "1" or os.environ.get("HF_HUB_OFFLINE") == "1"
        why = "the hub is offline (HF_DATASETS_OFFLINE/HF_HUB_OFFLINE=1)" if offline else str(err).splitlines()[0]
        raise SeqlitError(
            f"cannot load hub dataset {path!r}{f' ({name})' if name else ''}: {why}; "
            "pass local files instead, e.g. --data.init_args.path path/to/folder holding train/validation/test.parquet"
        ) from err
