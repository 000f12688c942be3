"""Encoder–decoder data: a source sentence in, a target sentence of another length out.

`ParallelData` is what every such data module shares: a source and a target
vocabulary (both saved in checkpoints), batches bucketed by source length,
`<bos> y` / `y <eos>` decoder inputs and outputs, and `predict_file` (one
source sentence per line, or JSON lines). Subclasses say how text becomes tokens and where
the sentence pairs come from: `TranslationData` here (word level, corpora
from the hub or local files), `DatesData` in dates.py (characters, generated).

Metrics compare the model's detokenized output with the *normalized*
reference: the reference tokenized and detokenized the same way (lower-cased
if `lowercase`), so exact match is not spoiled by spacing, while words the
vocabulary lacks still count as misses.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import datasets
import torch
from pytorch_lightning.utilities import rank_zero_info
from torch.utils.data import Dataset

from data_modules.base import SeqDataModule, positive
from data_modules.bucketing import pad
from data_modules.loading import SPLIT_NAMES, read_lines
from seqlit.errors import SeqlitError
from seqlit.vocab import BOS, EOS, PAD, UNK, Vocab

SPECIALS = (PAD, UNK, BOS, EOS)
# words (with inner hyphens / apostrophes: "t-shirt", "don't") or single punctuation marks
TOKEN = re.compile(r"\w+(?:[-'’]\w+)*|[^\w\s]")
NO_SPACE_BEFORE = re.compile(r" ([.,!?;:%)\]}])")
NO_SPACE_AFTER = re.compile(r"([(\[{$]) ")


class Pairs(Dataset):
    """Encoded pairs of one split. For raw text to translate, `target_ids` and `references` are None."""

    def __init__(self, source_ids: list[list[int]], target_ids: list[list[int]] | None, sources: list[str],
                 references: list[str] | None, index: list[int]):
        self.source_ids, self.target_ids, self.sources, self.references, self.index = (
            source_ids, target_ids, sources, references, index)

    def __len__(self) -> int:
        return len(self.source_ids)

    def __getitem__(self, i: int) -> tuple:
        if self.target_ids is None:
            return self.source_ids[i], None, self.sources[i], None, self.index[i]
        return self.source_ids[i], self.target_ids[i], self.sources[i], self.references[i], self.index[i]

    def subset(self, keep: list[int]) -> Pairs:
        pick = lambda items: None if items is None else [items[i] for i in keep]  # noqa: E731
        return Pairs(*map(pick, (self.source_ids, self.target_ids, self.sources, self.references, self.index)))


class ParallelData(SeqDataModule):
    """What every encoder–decoder data module shares. Subclasses implement the SeqDataModule vocabulary hooks plus
    `tokenize_source`, `tokenize_target`, `detokenize_target` and `pairs(split)` (raw source and target texts)."""

    predict_unit = "sentence"
    source_key = "source"  # what a JSON line of `predict_file` holds the source text under (or under "text")

    def __init__(self, **data_args):
        super().__init__(**data_args)
        self.source_vocab: Vocab | None = None
        self.target_vocab: Vocab | None = None

    # -- subclass hooks ---------------------------------------------------------------
    def tokenize_source(self, text: str) -> list[str]:
        raise NotImplementedError

    def tokenize_target(self, text: str) -> list[str]:
        raise NotImplementedError

    def detokenize_target(self, tokens: list[str]) -> str:
        raise NotImplementedError

    def pairs(self, split: str) -> tuple[list[str], list[str]]:
        """Raw (sources, targets) of a split."""
        raise NotImplementedError

    def trim_training(self, pairs: Pairs) -> Pairs:
        """Training pairs to keep (all, unless a subclass caps lengths)."""
        return pairs

    # -- shared -------------------------------------------------------------------------
    def spec(self) -> dict:
        t = self.target_vocab
        return {"source_vocab_size": len(self.source_vocab), "target_vocab_size": len(t),
                "source_pad_id": self.source_vocab.pad_id, "target_pad_id": t.pad_id,
                "bos_id": t[BOS], "eos_id": t[EOS]}

    def target_text(self, ids: list[int]) -> str:
        """Model output ids (no <bos>/<eos>) -> text, as scored and as `predict` writes it."""
        return self.detokenize_target(self.target_vocab.decode(ids))

    def encode(self, name: str, sources: list[str], targets: list[str] | None, index: list[int]) -> Pairs:
        src = [self.source_vocab.encode(self.tokenize_source(s)) for s in sources]
        if any(not ids for ids in src):
            raise SeqlitError(f"{name}: source {index[[len(i) for i in src].index(0)]} (counting from 0) is empty")
        if targets is None:
            return Pairs(src, None, sources, None, index)
        tokens = [self.tokenize_target(t) for t in targets]
        return Pairs(src, [self.target_vocab.encode(t) for t in tokens], sources,
                     [self.detokenize_target(t) for t in tokens], index)

    def encode_split(self, name: str, stage: str) -> Pairs:
        sources, targets = self.pairs(name)
        pairs = self.encode(name, sources, targets, list(range(len(sources))))
        return self.trim_training(pairs) if stage == "train" else pairs

    def encode_lines(self, lines: list[tuple[int, str | dict]]) -> Pairs:
        """Source sentences of `predict_file` (JSON lines: `source_key` or `text`); `index` is the 0-based line."""
        index, texts = self.line_texts(lines, self.source_key, "text")
        return self.encode(str(self.predict_file), [t.strip() for t in texts], None, index)

    def lengths(self, examples: Pairs) -> list[int]:
        return [len(x) for x in examples.source_ids]

    def collate(self, batch: list[tuple]) -> dict:
        source_ids, target_ids, sources, references, index = zip(*batch)
        ids, lengths = pad(source_ids, self.source_vocab.pad_id)
        out = {"source_ids": ids, "source_lengths": lengths, "index": torch.tensor(index), "sources": list(sources)}
        if target_ids[0] is not None:
            t = self.target_vocab
            out["target_in"], _ = pad([[t[BOS], *y] for y in target_ids], t.pad_id)
            out["target_out"], _ = pad([[*y, t[EOS]] for y in target_ids], t.pad_id)
            out["references"] = list(references)
        return out


def read_text_pairs(folder: Path, source_key: str, target_key: str) -> datasets.DatasetDict:
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


class TranslationData(ParallelData):
    """Word-level parallel corpora: a hub dataset, a folder of split files, or aligned text files.

    Args:
        path: hub id (`bentrevett/multi30k`, `wmt14` with name `de-en`), or a local folder of parquet,
            CSV, TSV or jsonl split files (found as loading.py says), or of `train.de` + `train.en`-style
            text files aligned line by line (`val.*` and `valid.*` count as validation).
        name: hub configuration name (WMT's language pair, `de-en`).
        source_key / target_key: source and target columns, or keys inside `translation_column`.
        translation_column: column of WMT-style rows `{de: …, en: …}`, used when the keys are not columns.
        val_split / test_split / predict_split: splits for validation, `test`, and `predict` without a file.
        predict_file: source sentences to translate, one per line (blank lines skipped), or `.jsonl`
            objects holding `source_key` (or `text`).
        lowercase: lower-case both sides (references included) before tokenizing.
        max_vocab: cap on each vocabulary, the four specials included (None: no cap).
        min_freq: training words seen fewer times become `<unk>`.
        max_length: training pairs with a side longer than this many tokens are skipped (evaluation keeps all).
        batch_size / eval_batch_size: sentence pairs per training / evaluation batch.
        seed: seed of the batch shuffling (None: the run's `seed_everything`).
        vocab_from: read the vocabularies from this checkpoint instead (the CLI sets it with --ckpt_path).
    """

    def __init__(
        self,
        path: str = "bentrevett/multi30k",
        name: str | None = None,
        source_key: str = "de",
        target_key: str = "en",
        translation_column: str = "translation",
        val_split: str = "validation",
        test_split: str = "test",
        predict_split: str = "test",
        predict_file: str | None = None,
        lowercase: bool = True,
        max_vocab: int | None = None,
        min_freq: int = 2,
        max_length: int = 100,
        batch_size: int = 64,
        eval_batch_size: int = 128,
        seed: int | None = None,
        vocab_from: str | None = None,
    ):
        super().__init__(path=path, name=name, val_split=val_split, test_split=test_split, predict_split=predict_split,
                         predict_file=predict_file, batch_size=batch_size, eval_batch_size=eval_batch_size, seed=seed,
                         vocab_from=vocab_from)
        positive("data.min_freq", min_freq)
        positive("data.max_length", max_length)
        positive("data.max_vocab", max_vocab, allow_none=True)
        if max_vocab is not None and max_vocab <= len(SPECIALS):
            raise SeqlitError(f"data.max_vocab must exceed the {len(SPECIALS)} special tokens, got {max_vocab}")
        if source_key == target_key:
            raise SeqlitError(f"data.source_key and data.target_key are both {source_key!r}: name two languages")
        self.save_hyperparameters(ignore=["vocab_from"])
        self.source_key, self.target_key, self.translation_column = source_key, target_key, translation_column
        self.lowercase, self.max_vocab, self.min_freq, self.max_length = lowercase, max_vocab, min_freq, max_length

    # -- text ---------------------------------------------------------------------------
    def tokenize(self, text: str) -> list[str]:
        return TOKEN.findall(text.lower() if self.lowercase else text)

    tokenize_source = tokenize_target = tokenize

    def detokenize_target(self, tokens: list[str]) -> str:
        return NO_SPACE_AFTER.sub(r"\1", NO_SPACE_BEFORE.sub(r"\1", " ".join(tokens)))

    # -- raw pairs ------------------------------------------------------------------------
    def load(self) -> datasets.DatasetDict:
        folder = Path(os.path.expanduser(self.path))
        if folder.is_dir() and any(folder.glob(f"*.{self.source_key}")):
            return read_text_pairs(folder, self.source_key, self.target_key)
        return super().load()

    def pairs(self, split: str) -> tuple[list[str], list[str]]:
        """Sources and targets of a split, columns checked; pairs with an empty side are dropped (and counted)."""
        ds, keys = self.split(split), (self.source_key, self.target_key)
        if all(k in ds.column_names for k in keys):
            sources, targets = ds[self.source_key][:], ds[self.target_key][:]
        elif self.translation_column in ds.column_names:
            rows = ds[self.translation_column][:]
            if rows and not all(isinstance(r, dict) and all(k in r for k in keys) for r in rows):
                found = ", ".join(rows[0]) if isinstance(rows[0], dict) else type(rows[0]).__name__
                raise SeqlitError(f"{self.path!r} split {split!r}: {self.translation_column!r} rows hold {found}, "
                                  f"not {keys[0]!r} and {keys[1]!r}: set data.init_args.source_key / target_key")
            sources, targets = [r[keys[0]] for r in rows], [r[keys[1]] for r in rows]
        else:
            raise SeqlitError(f"{self.path!r} split {split!r} has no columns {keys[0]!r} and {keys[1]!r} and no "
                              f"{self.translation_column!r} column (columns: {', '.join(ds.column_names)}): "
                              "set data.init_args.source_key / target_key / translation_column")
        kept = [(s, t) for s, t in zip(sources, targets) if (s or "").strip() and (t or "").strip()]
        if not kept:
            raise SeqlitError(f"{self.path!r}: the {split!r} split holds no sentence pairs")
        if len(kept) < len(sources):
            rank_zero_info(f"[seqlit] {split}: {len(sources) - len(kept)} pairs with an empty side were dropped")
        return [s for s, _ in kept], [t for _, t in kept]

    def trim_training(self, pairs: Pairs) -> Pairs:
        keep = [i for i, (s, t) in enumerate(zip(pairs.source_ids, pairs.target_ids)) if max(len(s), len(t)) <= self.max_length]
        if not keep:
            raise SeqlitError(f"{self.path!r}: every training pair is longer than data.max_length={self.max_length} tokens")
        if len(keep) < len(pairs):
            rank_zero_info(f"[seqlit] train: {len(pairs) - len(keep)} pairs longer than data.max_length="
                           f"{self.max_length} tokens were skipped")
        return pairs.subset(keep)

    # -- vocabularies -----------------------------------------------------------------------
    def build_vocab(self) -> None:
        self.source_vocab, self.target_vocab = (
            Vocab.build(map(self.tokenize, texts), specials=SPECIALS, max_size=self.max_vocab, min_freq=self.min_freq)
            for texts in self.pairs("train"))
        rank_zero_info(f"[seqlit] vocabularies from the training split: {self.source_key} {len(self.source_vocab)}, "
                       f"{self.target_key} {len(self.target_vocab)} words")

    def vocab_state(self) -> dict:
        return {"source": self.source_vocab.to_state(), "target": self.target_vocab.to_state(), "lowercase": self.lowercase}

    def load_vocab_state(self, state: dict) -> None:
        self.source_vocab, self.target_vocab = Vocab.from_state(state["source"]), Vocab.from_state(state["target"])
        self.lowercase = state["lowercase"]
