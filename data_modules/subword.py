"""Subword vocabularies: byte-pair encoding trained with Hugging Face `tokenizers` on the training split only.

The caller splits text into words first (its own word tokenizer: for sentiment
the regex that also splits clitics), and BPE then cuts each word, on its own,
into pieces from a vocabulary of about `vocab_size` entries. A word never seen
in training is spelt with pieces that were; only characters never seen in
training become `<unk>`. Pieces that start a word carry `▁` (SentencePiece's
convention), so pieces join back into words.

`SubwordVocab` answers to the same calls as `seqlit.vocab.Vocab` where the data
modules use it (`len`, `pad_id`, `unk_id`, `encode(words) -> ids`,
`decode(ids) -> pieces`), plus `detokenize(ids) -> text`. `<pad>` is id 0 and
`<unk>` id 1, as in a word vocabulary. In checkpoints it is plain data: the
tokenizer's JSON string (`Tokenizer.to_str()`), since checkpoints are loaded
with `weights_only=True`.

Training is deterministic: the same words give the same JSON string in any
process (tested), so a resumed run can check that the tokenizer it rebuilds is
the checkpoint's. That is why the word-boundary mark is a character of the text
(`▁`) and not an `end_of_word_suffix` / `continuing_subword_prefix`: the
trainer numbers those marked characters in hash-map order, which changes from
process to process, and breaks ties between equally frequent merges by id. (The
same holds for `tokenizers`' WordPiece trainer, which is why it is not offered.)
"""

from __future__ import annotations

from collections.abc import Iterable

from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers

from seqlit.vocab import PAD, UNK

KINDS = ("bpe",)


class SubwordVocab:
    def __init__(self, tokenizer: Tokenizer, kind: str = "bpe"):
        if kind not in KINDS:
            raise ValueError(f"subword kind must be one of {KINDS}, got {kind!r}")
        self.tokenizer, self.kind = tokenizer, kind
        self.pad_id, self.unk_id = tokenizer.token_to_id(PAD), tokenizer.token_to_id(UNK)
        if self.pad_id is None or self.unk_id is None:
            raise ValueError(f"a subword tokenizer needs the {PAD} and {UNK} tokens")
        self._pieces: dict[str, list[int]] = {}  # word -> ids: each word is cut on its own, so this is exact

    @classmethod
    def train(cls, sequences: Iterable[list[str]], kind: str = "bpe", vocab_size: int = 8000,
              specials: tuple[str, ...] = (PAD, UNK)) -> SubwordVocab:
        """Learn pieces from word sequences (words hold no whitespace); specials take ids 0, 1, …"""
        tokenizer = Tokenizer(models.BPE(unk_token=UNK))
        tokenizer.pre_tokenizer = pre_tokenizers.Metaspace()
        tokenizer.decoder = decoders.Metaspace()
        trainer = trainers.BpeTrainer(vocab_size=vocab_size, special_tokens=list(specials), show_progress=False)
        tokenizer.train_from_iterator((" ".join(words) for words in sequences), trainer)
        return cls(tokenizer, kind)

    def __len__(self) -> int:
        return self.tokenizer.get_vocab_size()

    def encode(self, words: Iterable[str]) -> list[int]:
        ids: list[int] = []
        for word in words:
            pieces = self._pieces.get(word)
            if pieces is None:
                pieces = self._pieces[word] = self.tokenizer.encode([word], is_pretokenized=True,
                                                                    add_special_tokens=False).ids
            ids += pieces
        return ids

    def decode(self, ids: Iterable[int]) -> list[str]:
        """The pieces, as strings (`▁` marks the start of a word)."""
        return [self.tokenizer.id_to_token(i) for i in ids]

    def detokenize(self, ids: Iterable[int]) -> str:
        """Pieces joined back into words, separated by single spaces."""
        return self.tokenizer.decode(list(ids), skip_special_tokens=False)

    def to_state(self) -> dict:
        return {"kind": self.kind, "tokenizer": self.tokenizer.to_str()}

    @classmethod
    def from_state(cls, state: dict) -> SubwordVocab:
        return cls(Tokenizer.from_str(state["tokenizer"]), state["kind"])
