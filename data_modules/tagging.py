"""Many-to-many tagging data (NER, chunking, POS): one tag per token.

Sources go through `load_splits` (hub id, parquet/json/csv folder, CoNLL text). IOB1 gold tags are converted
to IOB2 on load (same spans, no score changes): a BIO-constrained CRF forbids `O -> I-X`, which would make such
sentences impossible. Per token: a word id (lower-cased, digits to 0), its characters and a casing class, so
lower-casing never loses capitalisation; `rare_start` lets the model train `<unk>` on singletons. `max_length`
cuts training sentences only: evaluation and prediction always see whole ones. Details: docs/data_arrow_tasks.md.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import datasets
import numpy as np
import torch
from pytorch_lightning.utilities import rank_zero_info

from data_modules import tagging_encode
from data_modules.arrow import batches, column, flat_values, mapped
from data_modules.base import SPLITS, SeqDataModule, positive
from data_modules.bucketing import pad
from data_modules.loading import load_splits
from data_modules.tagging_encode import CASINGS, casing  # noqa: F401  (casing: part of this module's API)
from data_modules.tagging_files import CONLL_SUFFIXES, conll_readers, predict_sentences
from data_modules.task_streaming import (first_batches, is_empty, read_evaluation_splits, stream_loader, streamed_map,
                                         streamed_splits)
from seqlit.errors import SeqlitError
from seqlit.vocab import PAD, UNK, Vocab

IGNORE = -100  # tag id at padded positions (cross-entropy's ignore_index)


class TaggingData(SeqDataModule):
    """Token-level tags (BIO/IOB2 entity tags or any other tag set).

    Args:
        path: hub id (`eriktks/conll2003`), a folder (`../shared/data/conll2003`, or CoNLL
            `train/valid/test.conll|.txt`), or one CoNLL file.
        name: hub configuration name, if the hub dataset has several.
        tokens_column / tags_column: columns holding the token lists and the tag lists.
        tag_names: the names of integer tag ids (default: the column's ClassLabel names), or,
            for string tags, the label set and its order (default: sorted from the training split).
        lowercase: lower-case words for the word vocabulary (casing and characters keep the case).
        normalize_digits: map every digit to 0 for the word vocabulary (1996 and 1997 share a word).
        max_vocab: cap on the word vocabulary, specials included (None: no cap).
        min_freq: words seen fewer times in training become `<unk>`.
        max_word_length: characters per token given to the character encoder (longer are cut).
        max_length: truncate training sentences to this many tokens (None: never); evaluation
            and prediction always use whole sentences.
        batch_size / eval_batch_size: sentences per training / evaluation batch, per device.
        num_workers: DataLoader worker processes (0: load in the main process).
        split_fractions: train/validation/test fractions of sentences for single-split sources.
        keep_iob1: keep the tags as they are; by default an `I-X` that opens a span becomes `B-X`
            (IOB1 -> IOB2). Kept IOB1 tags need `model.constrain_bio: false`.
        predict_file: sentences to tag with `predict` (text lines or JSON lines).
        seed: seed of the bucketed shuffling (None: the run's `seed_everything`).
        vocab_from: read the vocabularies and tag names from this checkpoint instead.
        streaming: read each split as a `datasets` stream, never materialised (task_streaming.py); the
            source must ship train/validation/test splits as parquet/json/csv files or a hub id.
        vocab_max_rows: with `streaming`, build the vocabularies and tag set from the first this many
            training sentences, a bounded first pass (None: the whole training stream). Or give `vocab_from`.
    """

    # one pool, no length noise: most batches hold sentences of one length, which the
    # backbone runs without packing (training steps 1.4x faster on CPU); the shuffle stays random
    bucket_noise, bucket_pool = 0.0, None
    predict_unit = "sentence"
    predict_hint = "pass --data.init_args.predict_file FILE (one sentence per line, or .jsonl)"

    def __init__(
        self,
        path: str = "../shared/data/conll2003",
        name: str | None = None,
        tokens_column: str = "tokens",
        tags_column: str = "ner_tags",
        tag_names: list[str] | None = None,
        lowercase: bool = True,
        normalize_digits: bool = True,
        max_vocab: int | None = None,
        min_freq: int = 1,
        max_word_length: int = 20,
        max_length: int | None = None,
        batch_size: int = 32,
        eval_batch_size: int = 128,
        num_workers: int = 0,
        split_fractions: tuple[float, float, float] = (0.8, 0.1, 0.1),
        keep_iob1: bool = False,
        predict_file: str | None = None,
        seed: int | None = None,
        vocab_from: str | None = None,
        streaming: bool = False,
        vocab_max_rows: int | None = 1_000_000,
    ):
        super().__init__(path=path, name=name, predict_file=predict_file, split_fractions=split_fractions,
                         batch_size=batch_size, eval_batch_size=eval_batch_size, seed=seed, vocab_from=vocab_from)
        for arg in ("min_freq", "max_word_length"):
            positive(f"data.{arg}", locals()[arg])
        positive("data.max_vocab", max_vocab, allow_none=True)
        positive("data.max_length", max_length, allow_none=True)
        positive("data.vocab_max_rows", vocab_max_rows, allow_none=True)
        if num_workers < 0:
            raise SeqlitError(f"data.num_workers must be 0 or more, got {num_workers}")
        if tag_names is not None and len(set(tag_names)) != len(tag_names):
            raise SeqlitError(f"data.tag_names has duplicates: {tag_names}")
        self.save_hyperparameters(ignore=["vocab_from"])
        self.tokens_column, self.tags_column, self.tag_names_arg = tokens_column, tags_column, tag_names
        self.lowercase, self.normalize_digits = lowercase, normalize_digits
        self.max_vocab, self.min_freq, self.max_word_length, self.max_length = max_vocab, min_freq, max_word_length, max_length
        self.num_workers, self.keep_iob1 = num_workers, keep_iob1
        self.streaming, self.vocab_max_rows = streaming, vocab_max_rows
        self.vocab: Vocab | None = None
        self.chars: Vocab | None = None
        self.tag_names: list[str] | None = None
        self.rare_start = 0
        self._sentences: dict[str, datasets.Dataset] | None = None
        self._label_names: list[str] | None = None

    # -- reading -------------------------------------------------------------
    def load(self) -> datasets.DatasetDict:
        if self.streaming:
            local = Path(self.path).expanduser()
            if any(f.name.lower().endswith(CONLL_SUFFIXES) for f in ([local] if local.is_file() else local.glob("*"))):
                raise SeqlitError(f"data.streaming reads parquet/json/csv files or a hub id, not CoNLL text ({self.path!r}): "
                                  "convert the files to parquet, or set --data.init_args.streaming false")
            return streamed_splits(self.path, self.name)
        return load_splits(self.path, self.name, readers=conll_readers(self.tokens_column, self.tags_column))

    def sentences(self) -> dict[str, datasets.Dataset]:
        """Each split checked and normalised (`tokens`, `tags` as names, IOB2 unless `keep_iob1`), in Arrow."""
        if self._sentences is None:
            self._label_names = self.tag_names_arg or _classlabel_names(self.splits().get("train"), self.tags_column)
            self._sentences = {split: self._read_split(split) for split in SPLITS}
            if not self.keep_iob1 and not self.streaming:  # a stream is not read whole up front to count them
                self._report_iob1()
        return self._sentences

    def _read_split(self, split: str) -> datasets.Dataset:
        ds = self.split(split, tokens_column=self.tokens_column, tags_column=self.tags_column)
        if is_empty(ds) if self.streaming else len(ds) == 0:
            raise SeqlitError(f"{self.path!r}: the {split} split has no sentences: give it some")
        names = self.tag_names_arg or _classlabel_names(ds, self.tags_column) or self._label_names
        return (streamed_map if self.streaming else mapped)(ds, tagging_encode.normalise, tokens_column=self.tokens_column, tags_column=self.tags_column,
                      names=names, iob2=not self.keep_iob1, where=f"{self.path!r} split {split!r}")

    def _report_iob1(self) -> None:
        """One info line counting the spans IOB1 -> IOB2 changed (an I-X that opens a span became B-X)."""
        counts, made = {}, set()
        for split in SPLITS:
            counts[split], opened = flat_values(self._sentences[split], "opened")
            made |= opened
        if not made:
            return
        missing = sorted(made - set(self._label_names or made))
        if missing:
            raise SeqlitError(f"{self.path!r}: converting IOB1 tags to IOB2 gives {', '.join(missing)}, not among the tag names "
                              f"({', '.join(self._label_names)}): add them to --data.init_args.tag_names, or keep the tags "
                              "with --data.init_args.keep_iob1 true and --model.init_args.constrain_bio false")
        found = ", ".join(f"{s} {n}" for s, n in counts.items() if n)
        rank_zero_info(f"[seqlit] {self.path!r}: IOB1 tags converted to IOB2: {sum(counts.values())} spans opened by I-X now "
                       f"open with B-X ({found}); --data.init_args.keep_iob1 true keeps the tags as they are")

    # -- vocabulary ----------------------------------------------------------
    def word_key(self, token: str) -> str:
        """The word-vocabulary form of a token."""
        return tagging_encode.word_key(token, self.lowercase, self.normalize_digits)

    def build_vocab(self) -> None:
        """Words, characters and tags counted over the training split a batch at a time (no list of its tokens)."""
        words, chars, tags = Counter(), Counter(), set()
        train = self.sentences()["train"]
        rows = first_batches(train, self.vocab_max_rows) if self.streaming else \
            ({k: v.to_pylist() for k, v in b.items()} for b in batches(train, "tokens", "tags"))
        for batch in rows:
            for sentence, sentence_tags in zip(batch["tokens"], batch["tags"]):
                words.update(self.word_key(t) for t in sentence)
                chars.update(c for t in sentence for c in t)
                tags.update(sentence_tags)
        self.vocab = Vocab.build([words.elements()], specials=(PAD, UNK), max_size=self.max_vocab, min_freq=self.min_freq)
        self.rare_start = next((i for i, w in enumerate(self.vocab.tokens) if words.get(w) == 1), len(self.vocab))
        self.chars = Vocab.build([chars.elements()], specials=(PAD, UNK))
        self.tag_names = self._label_names or sorted(tags, key=lambda t: (t != "O", t))
        source = f"the first {self.vocab_max_rows or 'all'} training sentences (data.vocab_max_rows)" if self.streaming \
            else "the training split"
        rank_zero_info(f"[seqlit] vocabulary: {len(self.vocab):,} words ({len(self.vocab) - self.rare_start:,} seen once), "
                       f"{len(self.chars)} characters, {len(self.tag_names)} tags, from {source}")

    def vocab_state(self) -> dict:
        return {"words": self.vocab.to_state(), "rare_start": self.rare_start, "chars": self.chars.to_state(),
                "tag_names": list(self.tag_names), "lowercase": self.lowercase, "normalize_digits": self.normalize_digits}

    def load_vocab_state(self, state: dict) -> None:
        for key in ("lowercase", "normalize_digits"):
            if state[key] != getattr(self, key):
                raise SeqlitError(f"the checkpoint's vocabulary was built with {key}={state[key]}, but data.{key} is {getattr(self, key)}")
        self.vocab, self.chars = Vocab.from_state(state["words"]), Vocab.from_state(state["chars"])
        self.rare_start, self.tag_names = state["rare_start"], list(state["tag_names"])

    def spec(self) -> dict:
        return {"vocab_size": len(self.vocab), "pad_id": self.vocab.pad_id, "unk_id": self.vocab.unk_id,
                "rare_start": self.rare_start, "char_vocab_size": len(self.chars), "char_pad_id": self.chars.pad_id,
                "num_casings": len(CASINGS), "label_names": list(self.tag_names), "keeps_iob1": self.keep_iob1}

    # -- examples --------------------------------------------------------------
    def encoding(self, stage: str) -> dict:
        """`tagging_encode.encode`'s options: the vocabularies and settings that decide the ids (its cache key)."""
        return {"words": tuple(self.vocab.tokens), "chars": tuple(self.chars.tokens), "lowercase": self.lowercase,
                "normalize_digits": self.normalize_digits, "max_word_length": self.max_word_length,
                "max_length": self.max_length if stage == "train" else None, "tags_column": self.tags_column}

    def encode(self, tokens: list[str]) -> dict:
        """Word ids, casing ids and character ids per token of one sentence (what `encode_split` writes per row)."""
        row = tagging_encode.encode({"tokens": [tokens]}, [0], tag_names=None, where="", **self.encoding("predict"))
        return {key: values[0] for key, values in row.items()}

    def encode_lines(self, lines: list[tuple[int, str | dict]]) -> list[dict]:
        return [{**self.encode(e["tokens"]), **e} for e in predict_sentences(lines, self.predict_file)]

    def encode_split(self, split: str, stage: str) -> datasets.Dataset:
        """The split encoded once into Arrow (`Dataset.map`, cached by fingerprint); rows are read per batch.
        Streaming: encoded lazily as the stream is read (no truncation count: the stream is not read up front)."""
        columns = ["input_ids", "casing", "chars", "tokens", "tags", "length"]
        if self.streaming:
            return streamed_map(self.sentences()[split], tagging_encode.encode, tag_names=tuple(self.tag_names),
                                where=f"{self.path!r} split {split!r}", **self.encoding(stage)).select_columns(columns)
        examples = mapped(self.sentences()[split], tagging_encode.encode, tag_names=tuple(self.tag_names),
                          where=f"{self.path!r} split {split!r}", **self.encoding(stage))
        cut = int(column(examples, "cut").sum())
        if cut:
            rank_zero_info(f"[seqlit] train: {cut} of {len(examples)} sentences were longer than data.max_length="
                           f"{self.max_length} tokens and were truncated (evaluation keeps whole sentences)")
        return examples.select_columns(columns)

    def check(self, command: str) -> None:
        super().check(command)
        if self.streaming:  # a stream's encoding is lazy: read its evaluation splits through now
            read_evaluation_splits(self, command)

    def loader(self, stage: str):
        if not self.streaming or stage == "predict" and self.predict_file:
            return super().loader(stage)
        train = stage == "train"
        return stream_loader(self.encoded(stage), self.collate, self.batch_size if train else self.eval_batch_size,
                             train, self.seed, *self.world())

    def lengths(self, examples) -> np.ndarray:
        if isinstance(examples, datasets.Dataset):
            return column(examples, "length")
        return np.array([e["length"] for e in examples], dtype=np.int64)

    def collate(self, examples: list[dict]) -> dict:
        """Pad to the batch's longest sentence (and word); keep the words, and raw text fields for prediction."""
        words, lengths = pad([e["input_ids"] for e in examples], self.vocab.pad_id)
        casings, _ = pad([e["casing"] for e in examples], 0)
        batch = {"input_ids": words, "casing": casings, "chars": char_tensor(examples, words.size(1), self.chars.pad_id),
                 "lengths": lengths, "tokens": [e["tokens"] for e in examples]}
        if "tags" in examples[0]:
            batch["tags"], _ = pad([e["tags"] for e in examples], IGNORE)
        if "text" in examples[0]:
            for key in ("index", "text", "offsets"):
                batch[key] = [e[key] for e in examples]
        return batch


def char_tensor(examples: list[dict], longest: int, pad_id: int) -> torch.Tensor:
    """(batch, tokens, characters) ids from each example's per-token id lists, scattered in one indexing step."""
    words = [w for e in examples for w in e["chars"]]
    word_len = torch.tensor([len(w) for w in words], dtype=torch.long)
    out = torch.full((len(examples), longest, int(word_len.max())), pad_id, dtype=torch.long)
    sentence_len = torch.tensor([len(e["chars"]) for e in examples], dtype=torch.long)
    sentence = torch.repeat_interleave(torch.arange(len(examples)), sentence_len)
    token = torch.cat([torch.arange(n) for n in sentence_len.tolist()])
    starts = torch.cumsum(word_len, 0) - word_len
    position = torch.arange(int(word_len.sum())) - torch.repeat_interleave(starts, word_len)
    out[torch.repeat_interleave(sentence, word_len), torch.repeat_interleave(token, word_len), position] = \
        torch.tensor([c for w in words for c in w], dtype=torch.long)
    return out


def _classlabel_names(ds: datasets.Dataset | None, column: str) -> list[str] | None:
    """The ClassLabel names of a column of tag lists, if it has them."""
    feature = ds.features.get(column) if ds is not None else None
    inner = getattr(feature, "feature", None)
    return list(inner.names) if isinstance(inner, datasets.ClassLabel) else None
