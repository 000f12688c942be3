"""Language-model corpora: word or character tokens as contiguous streams.

Word level: each line's words, then `<eos>`, outside the training vocabulary `<unk>`; character level keeps
every character (the newline plays `<eos>`). A one-split corpus is cut by `split_by`: `lines` (fractions), or
nanoGPT's character cut (`nanogpt`: test is validation, so test the final weights; `nanogpt_halves`: the
last 10% halved, as TFDS does). `direction: backward` serves each stream reversed (Flair's second LM). At
scale each split is encoded once into the `datasets` cache and memory-mapped (docs/data_scale.md).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Literal

import datasets
import numpy as np
from pytorch_lightning.utilities import rank_zero_info
from torch.utils.data import DataLoader

from data_modules.base import SPLITS, SeqDataModule, positive
from data_modules.corpora import is_embedded, load_embedded
from data_modules.lm_streaming import StreamedWindows, StreamLoader
from data_modules.loading import read_text, stream_splits
from data_modules.resumable import ResumableLoader
from data_modules.streams import BPTTSampler, StreamWindows, batchify, rank_rows
from data_modules.token_stream import LINES_PER_BATCH, clean, count_batch, encode_text, encoded_split, token_counts
from seqlit.errors import SeqlitError
from seqlit.vocab import EOS, PAD, UNK, Vocab


class LanguageModelingData(SeqDataModule):
    """Next-token prediction on a text corpus.

    Args:
        path: hub id (`wikitext` with `name: wikitext-2-v1`), a folder of split files
            (`../shared/data/wikitext-2`), one text file (`input.txt`), or `embedded:pydoc_topics`.
        name: hub configuration name, if the hub dataset has several.
        level: `word` (whitespace tokens + `<eos>` per line) or `char`.
        text_column: column holding the text.
        batch_size: parallel training streams per device.
        eval_batch_size: parallel streams for validation/test (global: split across ranks,
            so one and several processes score exactly the same windows).
        bptt: tokens per window (truncated back-propagation length).
        random_bptt: draw each window's length around `bptt` (AWD-LSTM style).
        max_vocab: cap on vocabulary size, specials included (None: no cap).
        min_freq: words seen fewer times in training become `<unk>`.
        split_fractions: train/validation/test fractions of lines for one-split corpora (`split_by: lines`).
        split_by: how a one-split corpus is cut: `lines` (by `split_fractions`), `nanogpt` or `nanogpt_halves`
            (by characters); see the module docstring.
        seed: seed for random window lengths (None: the run's `seed_everything`).
        vocab_from: read the vocabulary from this checkpoint instead of building it.
        direction: `forward` (left to right) or `backward` (each split's stream reversed).
        streaming: read each split as a `datasets` stream, never materialised (lm_streaming.py); the source
            must ship its own train/validation/test splits.
        vocab_max_lines: with `streaming`, count the vocabulary over the first this many training lines, a
            bounded first pass (SentencePiece's `input_sentence_size` default); None: the whole training stream.
            Or give `vocab_from`.
    """

    predict_hint = "a language model continues a prompt instead: python -m seqlit generate --ckpt_path CKPT --prompt TEXT"

    def __init__(
        self,
        path: str = "embedded:pydoc_topics",
        name: str | None = None,
        level: Literal["word", "char"] = "word",
        text_column: str = "text",
        batch_size: int = 32,
        eval_batch_size: int = 10,
        bptt: int = 64,
        random_bptt: bool = False,
        max_vocab: int | None = None,
        min_freq: int = 1,
        split_fractions: tuple[float, float, float] = (0.9, 0.05, 0.05),
        split_by: Literal["lines", "nanogpt", "nanogpt_halves"] = "lines",
        seed: int | None = None,
        vocab_from: str | None = None,
        direction: Literal["forward", "backward"] = "forward",
        streaming: bool = False,
        vocab_max_lines: int | None = 1_000_000,
    ):
        # the character cuts replace the line cut of `split_fractions` (`char_cuts`)
        super().__init__(path=path, name=name, split_fractions=split_fractions if split_by == "lines" else None,
                         batch_size=batch_size, eval_batch_size=eval_batch_size, seed=seed, vocab_from=vocab_from)
        for arg in ("bptt", "min_freq"):
            positive(f"data.{arg}", locals()[arg])
        positive("data.max_vocab", max_vocab, allow_none=True)
        if split_by != "lines" and level != "char":
            raise SeqlitError(f"data.split_by {split_by!r} cuts the text between characters, which needs data.level char "
                              f"(got {level!r}): set --data.init_args.split_by lines for word-level models")
        positive("data.vocab_max_lines", vocab_max_lines, allow_none=True)
        fixed = {"split_by": split_by != "lines", "direction": direction == "backward", "random_bptt": random_bptt}
        if streaming and any(fixed.values()):
            arg = next(k for k, v in fixed.items() if v)
            raise SeqlitError(f"data.streaming reads each split once, front to back, in windows of data.bptt tokens: it cannot "
                              f"serve data.{arg} {locals()[arg]!r}: drop that option or set --data.init_args.streaming false")
        self.save_hyperparameters(ignore=["vocab_from"])
        self.level, self.text_column, self.bptt, self.split_by = level, text_column, bptt, split_by
        self.random_bptt, self.max_vocab, self.min_freq = random_bptt, max_vocab, min_freq
        self.direction, self.streaming, self.vocab_max_lines = direction, streaming, vocab_max_lines
        self.vocab: Vocab | None = None
        self._cuts: dict[str, str] | None = None

    # -- text ----------------------------------------------------------------
    def load(self) -> datasets.DatasetDict:
        if is_embedded(self.path) and not self.streaming:
            return datasets.DatasetDict({"train": load_embedded(self.path)})
        if not self.streaming:
            return super().load()
        data = stream_splits(self.path, self.name) if not is_embedded(self.path) else {"train": None}
        missing = [s for s in SPLITS if s not in data]
        if missing:
            raise SeqlitError(f"data.streaming needs {self.path!r} to ship its own {', '.join(missing)} split(s) (found: "
                              f"{', '.join(data)}): a stream cannot be cut by data.split_fractions; pass a folder with "
                              "train/validation/test files, or set --data.init_args.streaming false")
        return datasets.IterableDatasetDict({s: d if d.column_names is not None else d._resolve_features()
                                             for s, d in data.items()})

    def text_batches(self, split: str) -> Iterator[list[str]]:
        """A split's lines (trailing newline removed), a batch at a time: never the whole split as one list."""
        ds = self.split(split, text_column=self.text_column).select_columns([self.text_column])
        for batch in ds.iter(batch_size=LINES_PER_BATCH):
            yield clean(batch[self.text_column])

    def streamed_counts(self) -> Counter:
        """The training stream's token counts, over its first `vocab_max_lines` lines if set."""
        counts: Counter = Counter()
        left = self.vocab_max_lines
        for lines in self.text_batches("train"):
            lines = lines if left is None else lines[:left]
            count_batch(counts, lines, self.level)
            if left is not None:
                left -= len(lines)
                if left == 0:
                    break
        return counts

    def require_text(self, split: str) -> None:
        """An empty split is one line, before anything is encoded (stops at the first non-empty line)."""
        if not any(any(lines) for lines in self.text_batches(split)):
            raise SeqlitError(f"{self.path!r}: the {split} split is empty: give it some text")

    def char_cuts(self) -> dict[str, str]:
        """Each split's exact characters under `split_by: nanogpt` / `nanogpt_halves` (module docstring)."""
        if self._cuts is None:
            if set(self.splits()) != {"train"}:
                raise SeqlitError(f"{self.path!r} ships its own splits ({', '.join(self.splits())}), but data.split_by "
                                  f"{self.split_by!r} cuts one text into splits: pass the one text file, or set "
                                  "--data.init_args.split_by lines")
            file = Path(self.path).expanduser()
            if file.is_file() and file.name.lower().endswith((".txt", ".txt.gz", ".txt.bz2")):
                text = read_text(file)
            else:
                rows = self.split("train", text_column=self.text_column)[self.text_column]
                text = "".join((t or "").rstrip("\n") + "\n" for t in rows)
            n = len(text)
            cut = int(n * 0.9)
            if self.split_by == "nanogpt":
                self._cuts = {"train": text[:cut], "validation": text[cut:], "test": text[cut:]}
            else:
                half = cut + (n - cut) // 2
                self._cuts = {"train": text[:cut], "validation": text[cut:half], "test": text[half:]}
            for split, chars in self._cuts.items():
                if not chars:
                    raise SeqlitError(f"{self.path!r}: the {split} split is empty ({n} characters in all): give it more text")
            rank_zero_info(f"[seqlit] {self.path!r} cut by characters (data.split_by {self.split_by}): "
                           + ", ".join(f"{s} {len(c):,}" for s, c in self._cuts.items())
                           + (" (test = validation: nanoGPT has no test split)" if self.split_by == "nanogpt" else ""))
        return self._cuts

    def tokenize(self, line: str) -> list[str]:
        return line.split() + [EOS] if self.level == "word" else list(line) + ["\n"]

    @property
    def start_token(self) -> str:
        """What a line starts after and ends with: the newline (characters) or `<eos>` (words); a prompt follows it."""
        return "\n" if self.level == "char" else EOS

    stop_token = start_token

    def detokenize(self, tokens: list[str]) -> str:
        if self.level == "char":
            return "".join(tokens)
        return " ".join("\n" if t == EOS else t for t in tokens).replace(" \n ", "\n").replace(" \n", "\n")

    # -- vocabulary ------------------------------------------------------------
    def build_vocab(self) -> None:
        """Counts over batches of training lines (or the training characters of a cut): no list of every token."""
        if self.streaming:
            self.require_text("train")
            counts = self.streamed_counts()
            rank_zero_info(f"[seqlit] streaming: the vocabulary counts the first {self.vocab_max_lines or 'all'} "
                           "training lines (data.vocab_max_lines)")
        elif self.split_by == "lines":
            self.require_text("train")
            counts = token_counts(self.split("train"), self.level, self.text_column)
        else:
            counts = Counter(self.char_cuts()["train"])
        specials = (PAD, UNK, EOS) if self.level == "word" else (PAD, UNK)
        self.vocab = Vocab.from_counts(counts, specials=specials, max_size=self.max_vocab, min_freq=self.min_freq)
        rank_zero_info(f"[seqlit] {self.level} vocabulary: {len(self.vocab)} tokens from the training split")

    def vocab_state(self) -> dict:
        state = {"level": self.level, "tokens": self.vocab.to_state()}
        if self.direction == "backward":  # only then: a forward LM's state stays what 0.1 wrote
            state["direction"] = "backward"
        return state

    def load_vocab_state(self, state: dict) -> None:
        if state["level"] != self.level:
            raise SeqlitError(f"the checkpoint holds a {state['level']}-level vocabulary, but data.level is {self.level!r}: "
                              f"drop the data.level override (the checkpoint's is used) or pass a {self.level}-level checkpoint")
        self.vocab = Vocab.from_state(state["tokens"])

    def spec(self) -> dict:
        return {"vocab_size": len(self.vocab), "pad_id": self.vocab.pad_id, "level": self.level}

    # -- tensors ------------------------------------------------------------------
    def encode_split(self, name: str, stage: str) -> np.ndarray:
        """A split as one flat id array, memory-mapped from the `datasets` cache (token_stream.py); a backward LM
        reads it reversed, a view (no copy). Streaming: the split's stream itself, checked to hold text."""
        if self.streaming:
            self.require_text(name)
            return self.split(name)
        if self.split_by == "lines":
            self.require_text(name)
            unk = self.vocab.tokens[self.vocab.unk_id]
            ids = encoded_split(self.split(name), self.vocab.tokens, unk, self.level, self.text_column)
        else:
            ids = encode_text(self.char_cuts()[name], self.vocab.index, self.vocab.unk_id)
        return ids[::-1] if self.direction == "backward" else ids

    def prepare_data(self) -> None:
        """Lightning runs this on each machine's local rank 0 before `setup`: encode every split once, so the
        other ranks find the cache files and only map them (token_stream.py also locks, whoever comes first)."""
        if self.split_by == "lines" and not self.streaming:
            self.ensure_vocab()
            for stage in ("train", "validation", "test"):
                self.encoded(stage)

    def loader(self, stage: str) -> DataLoader:
        """Contiguous streams instead of buckets: each rank its own rows (streams.py), windows of `bptt` tokens."""
        rank, world = self.world()
        if self.streaming:
            rows = self.batch_size if stage == "train" else self.eval_batch_size
            unk = self.vocab.tokens[self.vocab.unk_id]
            return StreamLoader(StreamedWindows(self.encoded(stage), self.vocab.tokens, unk, self.level, self.text_column,
                                                rows, self.bptt, rank, world))
        n_streams = self.batch_size * world if stage == "train" else self.eval_batch_size
        streams = rank_rows(batchify(self.encoded(stage), n_streams), rank, world)
        if streams.shape[0] == 0:
            raise SeqlitError(f"data.eval_batch_size={n_streams} gives rank {rank} no stream: use at least {world}")
        windows = StreamWindows(streams)
        sampler = BPTTSampler(len(windows), self.bptt, self.random_bptt and stage == "train", self.seed)
        return ResumableLoader(windows, sampler=sampler, batch_size=None)
