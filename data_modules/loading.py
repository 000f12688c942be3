"""Turn a `path` into a `datasets.DatasetDict`: a hub id, a folder or a file.

Which file of a folder is which split is `datasets`' own rule (its data-file
patterns, the ones the hub applies to a dataset repository), not a list of
names kept here, so a corpus loads as it ships: a split keyword standing as a
word in a file name (`train.parquet`, `valid.conll`, Mikolov's `ptb.test.txt`,
`train-00000-of-00002.parquet`) or naming a folder (`train/part0.jsonl`) puts
the file in that split; a folder without keywords is one `train` split. A
folder holds one format (parquet, then jsonl/json, csv/tsv, a task's own
format, plain text: the first found), so a parquet copy and a text copy of one
corpus side by side do not merge. A single file is one `train` split that the
caller may cut. Hub ids are tried last, and failing to reach the hub becomes
one line that says how to pass local files instead.

A task with a format of its own (CoNLL columns) passes `readers`: suffix ->
function reading one file into a `datasets.Dataset`; it is found and checked
like the rest. Every file is read as UTF-8 (`read_text`), and a file that is
not names itself in one line. A byte-order mark at the start of a file (what
Windows editors write) is dropped wherever text is read, so it never becomes
part of a first word, sentence or line.
"""

from __future__ import annotations

import bz2
import gzip
import os
from collections.abc import Callable
from pathlib import Path

import datasets
import pyarrow.parquet as pq
from datasets.data_files import SPLIT_KEYWORDS, DataFilesDict, EmptyDatasetError, get_data_patterns

from data_modules.parquet_stream import parquet_stream
from seqlit.errors import SeqlitError
from seqlit.io.hub_online import hub_unreachable, offline_mode
from seqlit.io.storage import tried

Reader = Callable[[Path], datasets.Dataset]

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
# a split keyword of `datasets` (`valid`, `dev`, `val`, `training`, …) -> the split it names
SPLIT_NAMES = {keyword: str(split) for split, keywords in SPLIT_KEYWORDS.items() for keyword in keywords}


def read_text(path: Path, name: str | None = None) -> str:
    """A UTF-8 file's text (`.gz` / `.bz2` decompressed); anything else is one line naming the file (`name`)."""
    opener = {".gz": gzip.open, ".bz2": bz2.open}.get(path.suffix.lower(), open)
    with opener(path, "rb") as f:
        data = f.read()
    try:
        return data.decode("utf-8-sig")  # a leading byte-order mark dropped
    except UnicodeDecodeError as err:
        raise SeqlitError(f"{name or repr(str(path))} is not UTF-8 text ({err.reason} at byte {err.start}): "
                          "re-encode it as UTF-8") from err


def read_lines(path: Path, name: str | None = None) -> list[str]:
    """Lines of a UTF-8 file, split on '\\n' only: not on the Unicode separators `str.splitlines` also honours,
    which would misalign parallel files and line numbers."""
    lines = read_text(path, name).split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    return [line.rstrip("\r") for line in lines]


def load_parallel_text(folder: Path, source_key: str, target_key: str) -> datasets.DatasetDict:
    """`<stem>.<source_key>` + `<stem>.<target_key>` files, aligned line by line (`train.de`, `train.en`, …).

    Each stem is a split of its own, named by `datasets`' split keywords where it is one (`val.de` -> validation):
    parallel corpora ship several test sets side by side (Multi30k: test_2016_flickr, test_2017_mscoco) that
    must stay apart, where `datasets`' patterns would merge them into one `test`.
    """
    splits = {}
    for source_file in sorted(folder.glob(f"*.{source_key}")):
        stem = source_file.name[: -len(source_key) - 1]
        target_file = folder / f"{stem}.{target_key}"
        if not target_file.is_file():
            raise SeqlitError(f"{str(source_file)!r} has no aligned target file {target_file.name!r} in the same folder")
        sources, targets = read_lines(source_file), read_lines(target_file)
        if len(sources) != len(targets):
            raise SeqlitError(f"misaligned parallel files: {source_file.name} has {len(sources)} lines but "
                              f"{target_file.name} has {len(targets)}; line i of one must translate line i of the other")
        splits[SPLIT_NAMES.get(stem.lower(), stem)] = datasets.Dataset.from_dict({source_key: sources, target_key: targets})
    return datasets.DatasetDict(splits)


def load_splits(path: str, name: str | None = None, readers: dict[str, Reader] | None = None) -> datasets.DatasetDict:
    """Load every split that `path` names. Never downloads when `path` exists on disk."""
    if not path:
        raise SeqlitError("data.path is empty: pass a hub dataset id or a local folder/file")
    kinds: dict[str, str | Reader] = {**BUILDERS, **(readers or {})}
    p = Path(os.path.expanduser(path))
    if p.is_dir():
        files = _split_files(p, kinds)
    elif p.is_file():
        if not _suffix(p, kinds):
            raise SeqlitError(f"file {path!r} has an unknown suffix: use one of {', '.join(kinds)}")
        files = {"train": [p]}
    else:
        return _load_hub(path, name)
    empty = next((f for fs in files.values() for f in fs if f.stat().st_size == 0), None)
    if empty is not None:
        raise SeqlitError(f"{str(empty)!r} is empty (0 bytes): give it some data")
    kind = kinds[_suffix(next(iter(files.values()))[0], kinds)]
    if callable(kind):
        return datasets.DatasetDict({split: datasets.concatenate_datasets([kind(f) for f in fs])
                                     for split, fs in files.items()})
    return _load_builder(kind, files, path)


def stream_splits(path: str, name: str | None) -> datasets.IterableDatasetDict:
    """`path` (a folder, a file or a hub id, found as `load_splits` finds them) as streamed splits: nothing read whole."""
    p = Path(path).expanduser()
    if not p.exists():
        try:
            return datasets.load_dataset(path, name, streaming=True)
        except Exception as err:  # the hub raises many types: connection, not found, offline
            offline = os.environ.get("HF_DATASETS_OFFLINE") == "1" or os.environ.get("HF_HUB_OFFLINE") == "1"
            why = "the hub is offline (HF_DATASETS_OFFLINE/HF_HUB_OFFLINE=1)" if offline else (str(err) or repr(err)).splitlines()[0]
            raise SeqlitError(f"data.path {path!r} is no local file or folder ({tried(path)}) and no hub dataset could be "
                              f"streamed{f' ({name})' if name else ''}: {why}; "
                              "pass local files instead, e.g. --data.init_args.path path/to/folder of train/validation/test files") from err
    files = _split_files(p, BUILDERS) if p.is_dir() else {"train": [p]}
    builder = BUILDERS[_suffix(next(iter(files.values()))[0], BUILDERS)]
    if builder == "parquet":  # decoded a batch at a time, not a row group at a time (parquet_stream.py)
        return datasets.IterableDatasetDict({s: parquet_stream([str(f) for f in fs], s) for s, fs in files.items()})
    return datasets.load_dataset(builder, data_files={s: [str(f) for f in fs] for s, fs in files.items()}, streaming=True,
                                 **builder_options(builder, files))


def _suffix(p: Path, kinds: dict) -> str:
    """The longest known suffix that `p`'s name ends with, or ''."""
    name = p.name.lower()
    return max((s for s in kinds if name.endswith(s)), key=len, default="")


def _split_files(folder: Path, kinds: dict[str, str | Reader]) -> dict[str, list[Path]]:
    """Split -> files of one format, as `datasets`' data-file patterns assign them."""
    try:
        found = DataFilesDict.from_patterns(get_data_patterns(str(folder)), base_path=str(folder))
    except (EmptyDatasetError, FileNotFoundError):
        found = {}
    by_kind: dict = {}
    for split, names in found.items():
        for f in map(Path, names):
            if _suffix(f, kinds):
                by_kind.setdefault(kinds[_suffix(f, kinds)], {}).setdefault(str(split), []).append(f)
    readers = [k for k in kinds.values() if callable(k)]
    for kind in ("parquet", "json", "csv", *dict.fromkeys(readers), "text"):
        if kind in by_kind:
            return by_kind[kind]
    raise SeqlitError(
        f"folder {str(folder)!r} holds no split files: expected files with one of the suffixes {', '.join(kinds)}, "
        "named after their split (train.parquet, valid.conll, ptb.test.txt, …) or in train/validation/test folders"
    )


def _load_builder(builder: str, files: dict[str, list[Path]], path: str) -> datasets.DatasetDict:
    """`datasets.load_dataset` on local files; its failures become one line naming the file at fault."""
    try:
        return datasets.load_dataset(builder, data_files={s: [str(f) for f in fs] for s, fs in files.items()},
                                     **builder_options(builder, files))
    except (UnicodeDecodeError, ValueError, datasets.exceptions.DatasetGenerationError) as err:
        decode = next((e for e in _chain(err) if isinstance(e, UnicodeDecodeError)), None)
        if decode is not None:
            for f in (f for fs in files.values() for f in fs):
                read_text(f)  # raises, naming the file and the byte
            raise SeqlitError(f"{path!r} is not UTF-8 text ({decode.reason}): re-encode it as UTF-8") from err
        if builder == "parquet":
            mismatch = parquet_mismatch(files)
            if mismatch:
                raise SeqlitError(mismatch) from err
        cause = err.__cause__ or err
        raise SeqlitError(f"cannot read {path!r} as {builder}: {' '.join(str(cause).split())}") from err


def builder_options(builder: str, files: dict[str, list[Path]]) -> dict:
    """Options of the `datasets` builder for `files`: tabs for TSV; for plain text, a byte-order mark dropped
    (the json and csv builders drop it themselves)."""
    if builder == "text":
        return {"encoding": "utf-8-sig"}
    if builder == "csv" and any(f.name.lower().endswith(".tsv") for fs in files.values() for f in fs):
        return {"delimiter": "\t"}
    return {}


def parquet_mismatch(files: dict[str, list[Path]]) -> str | None:
    """One line naming a parquet file, a column and both types where a split's files disagree on a column's type
    (read from the files' schemas, not from the error's wording), or None."""
    for fs in files.values():
        first, seen = fs[0], {f.name: f.type for f in pq.read_schema(fs[0])}
        for f in fs[1:]:
            for field in pq.read_schema(f):
                if field.name in seen and field.type != seen[field.name]:
                    return (f"{str(f)!r}: column {field.name!r} is {field.type}, but {seen[field.name]} in {str(first)!r} "
                            "of the same split: give the column one type in every file of a split")
    return None


def _chain(err: BaseException | None):
    """`err` and the exceptions it was raised from."""
    while err is not None:
        yield err
        err = err.__cause__ or err.__context__


def _load_hub(path: str, name: str | None) -> datasets.DatasetDict:
    looks_local = path.startswith((".", "/", "~")) or os.sep in path.strip("/").split("/", 1)[-1]
    if looks_local:
        raise SeqlitError(f"data.path {path!r} does not exist ({tried(path)}): pass an existing folder or file, "
                          "or a hub dataset id")
    unreached = hub_unreachable()  # then only the cache is asked: no retry lines over 25 s (seqlit/io/hub_online.py)
    try:
        with offline_mode(unreached is not None):
            return datasets.load_dataset(path, name)
    except Exception as err:  # the hub raises many types: connection, not found, offline
        offline = os.environ.get("HF_DATASETS_OFFLINE") == "1" or os.environ.get("HF_HUB_OFFLINE") == "1"
        why = "the hub is offline (HF_DATASETS_OFFLINE/HF_HUB_OFFLINE=1)" if offline else str(err).splitlines()[0]
        if unreached is not None:
            why = f"the hub cannot be reached ({unreached}) and the cache does not hold it"
        raise SeqlitError(
            f"data.path {path!r} is no local file or folder ({tried(path)}) and no hub dataset "
            f"could be loaded{f' ({name})' if name else ''}: {why}; "
            "pass local files instead, e.g. --data.init_args.path path/to/folder holding train/validation/test.parquet"
        ) from err
