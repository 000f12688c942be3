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
from collections import Counter
from pathlib import Path

import datasets
import numpy as np
import torch
from pytorch_lightning.utilities import rank_zero_info

from data_modules import parallel_encode
from data_modules.arrow import MAP_BATCH, column, mapped
from data_modules.base import SeqDataModule, positive
from data_modules.bucketing import pad
from data_modules.loading import load_parallel_text
from data_modules.parallel_encode import detokenize, nonempty, sides, tokenize
from seqlit.errors import SeqlitError
from seqlit.vocab import BOS, EOS, PAD, UNK, Vocab

SPECIALS = (PAD, UNK, BOS, EOS)


class ParallelData(SeqDataModule):
    """What every encoder–decoder data module shares. Subclasses implement the SeqDataModule vocabulary hooks plus
    `pair_split(name)` (a split holding `source_key` and `target_key` columns, or `translation_column` rows) and say
    how text becomes tokens (`kind`: `word` or `char`; `lowercase`).

    Splits stay in Arrow: pairs with an empty side are filtered out, the rest encoded by one cached
    `Dataset.map` (data_modules/parallel_encode.py); the sampler reads the `length` column and `collate`
    pads the rows of a batch."""

    predict_unit = "sentence"
    source_key, target_key, translation_column = "source", "target", "translation"  # the columns a split holds
    kind, lowercase = "word", False
    min_freq, max_vocab = 1, None
    max_length: int | None = None  # training pairs with a longer side are skipped (None: keep all)

    def __init__(self, **data_args):
        super().__init__(**data_args)
        self.source_vocab: Vocab | None = None
        self.target_vocab: Vocab | None = None

    # -- subclass hook ------------------------------------------------------------------
    def pair_split(self, name: str) -> datasets.Dataset:
        """Source split `name`, its columns checked."""
        raise NotImplementedError

    # -- text -----------------------------------------------------------------------------
    def tokenize(self, text: str) -> list[str]:
        return tokenize(text, self.kind, self.lowercase)

    def detokenize_target(self, tokens: list[str]) -> str:
        return detokenize(tokens, self.kind)

    def target_text(self, ids: list[int]) -> str:
        """Model output ids (no <bos>/<eos>) -> text, as scored and as `predict` writes it."""
        return self.detokenize_target(self.target_vocab.decode(ids))

    # -- raw pairs ------------------------------------------------------------------------
    def _keys(self, where: str) -> dict:
        return {"source_key": self.source_key, "target_key": self.target_key,
                "translation_column": self.translation_column, "where": where}

    def sentence_pairs(self, name: str) -> datasets.Dataset:
        """Split `name` without its pairs that have an empty side (counted), in Arrow; some must remain."""
        ds = self.pair_split(name)
        kept = ds.filter(nonempty, batched=True, batch_size=MAP_BATCH, fn_kwargs=self._keys(f"{self.path!r} split {name!r}"),
                         desc="[seqlit] nonempty")
        if not len(kept):
            raise SeqlitError(f"{self.path!r}: the {name!r} split holds no sentence pairs")
        if len(kept) < len(ds):
            rank_zero_info(f"[seqlit] {name}: {len(ds) - len(kept)} pairs with an empty side were dropped")
        return kept

    def pairs(self, name: str) -> tuple[list[str], list[str]]:
        """(sources, targets) of split `name` as lists: to look at a small split (tests); loaders read Arrow."""
        sources, targets = [], []
        for batch in self.sentence_pairs(name).iter(batch_size=MAP_BATCH):
            s, t = sides(batch, **self._keys(name))
            sources += s
            targets += t
        return sources, targets

    def token_counts(self, name: str) -> tuple[Counter, Counter]:
        """Source and target token counts of split `name`, counted batch by batch (never a list of its tokens)."""
        counts = Counter(), Counter()
        for batch in self.sentence_pairs(name).iter(batch_size=MAP_BATCH):
            for texts, side in zip(sides(batch, **self._keys(name)), counts):
                for text in texts:
                    side.update(self.tokenize(text))
        return counts

    # -- shared -------------------------------------------------------------------------
    def build_vocab(self) -> None:
        self.source_vocab, self.target_vocab = (
            Vocab.from_counts(c, specials=SPECIALS, max_size=self.max_vocab, min_freq=self.min_freq)
            for c in self.token_counts("train"))

    def spec(self) -> dict:
        t = self.target_vocab
        return {"source_vocab_size": len(self.source_vocab), "target_vocab_size": len(t),
                "source_pad_id": self.source_vocab.pad_id, "target_pad_id": t.pad_id,
                "bos_id": t[BOS], "eos_id": t[EOS]}

    def encode(self, name: str, ds: datasets.Dataset, target_key: str | None, max_length: int | None = None,
               line_numbers: list[int] | None = None) -> datasets.Dataset:
        """Pairs (or, without `target_key`, sources) of `ds` encoded in one cached `Dataset.map`."""
        return mapped(ds, parallel_encode.encode, **{**self._keys(f"{self.path!r} split {name!r}"), "target_key": target_key},
                      kind=self.kind, lowercase=self.lowercase, source_vocab=tuple(self.source_vocab.tokens),
                      target_vocab=tuple(self.target_vocab.tokens), max_length=max_length,
                      line_numbers=None if line_numbers is None else tuple(line_numbers), name=name)

    def encode_split(self, name: str, stage: str) -> datasets.Dataset:
        ds = self.sentence_pairs(name)
        cap = self.max_length if stage == "train" else None
        examples = self.encode(name, ds, self.target_key, cap)
        if cap is not None and not len(examples):
            raise SeqlitError(f"{self.path!r}: every training pair is longer than data.max_length={cap} tokens")
        if len(examples) < len(ds):
            rank_zero_info(f"[seqlit] train: {len(ds) - len(examples)} pairs longer than data.max_length="
                           f"{cap} tokens were skipped")
        return examples

    def encode_lines(self, lines: list[tuple[int, str | dict]]) -> datasets.Dataset:
        """Source sentences of `predict_file` (JSON lines: `source_key` or `text`); `index` is the 0-based line."""
        index, texts = self.line_texts(lines, self.source_key, "text")
        ds = datasets.Dataset.from_dict({self.source_key: [t.strip() for t in texts]})  # in memory: never cached
        return self.encode(str(self.predict_file), ds, None, line_numbers=index)

    def lengths(self, examples: datasets.Dataset) -> np.ndarray:
        return column(examples, "length")

    def collate(self, batch: list[dict]) -> dict:
        ids, lengths = pad([e["source_ids"] for e in batch], self.source_vocab.pad_id)
        out = {"source_ids": ids, "source_lengths": lengths, "index": torch.tensor([e["index"] for e in batch]),
               "sources": [e["source"] for e in batch]}
        if "target_ids" in batch[0]:
            t = self.target_vocab
            out["target_in"], _ = pad([[t[BOS], *e["target_ids"]] for e in batch], t.pad_id)
            out["target_out"], _ = pad([[*e["target_ids"], t[EOS]] for e in batch], t.pad_id)
            out["references"] = [e["reference"] for e in batch]
        return out


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

    # -- raw pairs ------------------------------------------------------------------------
    def load(self) -> datasets.DatasetDict:
        folder = Path(os.path.expanduser(self.path))
        if folder.is_dir() and any(folder.glob(f"*.{self.source_key}")):
            return load_parallel_text(folder, self.source_key, self.target_key)
        return super().load()

    def pair_split(self, name: str) -> datasets.Dataset:
        ds, keys = self.split(name), (self.source_key, self.target_key)
        if not all(k in ds.column_names for k in keys) and self.translation_column not in ds.column_names:
            raise SeqlitError(f"{self.path!r} split {name!r} has no columns {keys[0]!r} and {keys[1]!r} and no "
                              f"{self.translation_column!r} column (columns: {', '.join(ds.column_names)}): "
                              "set data.init_args.source_key / target_key / translation_column")
        return ds

    # -- vocabularies -----------------------------------------------------------------------
    def build_vocab(self) -> None:
        super().build_vocab()
        rank_zero_info(f"[seqlit] vocabularies from the training split: {self.source_key} {len(self.source_vocab)}, "
                       f"{self.target_key} {len(self.target_vocab)} words")

    def vocab_state(self) -> dict:
        return {"source": self.source_vocab.to_state(), "target": self.target_vocab.to_state(), "lowercase": self.lowercase}

    def load_vocab_state(self, state: dict) -> None:
        self.source_vocab, self.target_vocab = Vocab.from_state(state["source"]), Vocab.from_state(state["target"])
        self.lowercase = state["lowercase"]
