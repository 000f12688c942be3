"""The tagger's `predict_text`: tokens with offsets -> ids -> emissions (ONNX) -> tags (Viterbi or argmax) -> entities."""

from __future__ import annotations

import numpy as np

from .batches import length_groups
from .records import numbered, with_blank
from .text import casing, pad, spans, tagging_tokens, word_key


def viterbi(emissions: np.ndarray, start: np.ndarray, transitions: np.ndarray, end: np.ndarray) -> list[int]:
    """Best tag path of one sentence's emissions (T, K) under a linear-chain CRF, as seqlit.nn.CRF.decode finds it."""
    score, back = start + emissions[0], []
    for t in range(1, len(emissions)):
        candidates = score[:, None] + transitions  # [previous tag, tag]
        back.append(candidates.argmax(axis=0))
        score = candidates.max(axis=0) + emissions[t]
    path = [int((score + end).argmax())]
    for pointers in reversed(back):
        path.append(int(pointers[path[-1]]))
    return path[::-1]


class OnnxTagger:
    """An exported `seqlit.tasks.Tagger`: `predict_text` gives the records `python -m seqlit predict` writes."""

    def __init__(self, spec: dict, config: dict, vocab: dict, session):
        data = config["data"]["init_args"]
        self.session, self.batch_size = session, int(data.get("eval_batch_size") or 32)
        self.feeds = {i.name for i in session.get_inputs()}  # a tagger without character features has no `chars`
        self.words = {t: i for i, t in enumerate(vocab["words"]["tokens"])}
        self.chars = {t: i for i, t in enumerate(vocab["chars"]["tokens"])}
        self.tag_names = list(vocab["tag_names"])
        self.lowercase, self.normalize_digits = bool(vocab["lowercase"]), bool(vocab["normalize_digits"])
        self.max_word_length = int(data["max_word_length"])
        self.word_pad, self.word_unk = self.words["<pad>"], self.words[vocab["words"].get("unk") or "<unk>"]
        self.char_pad, self.char_unk = self.chars["<pad>"], self.chars["<unk>"]
        crf = spec.get("crf")
        self.crf = None if crf is None else tuple(np.asarray(crf[k], dtype=np.float32)
                                                  for k in ("start", "transitions", "end"))

    def encode(self, tokens: list[str]) -> tuple[list[int], list[int], list[list[int]]]:
        words = [self.words.get(word_key(t, self.lowercase, self.normalize_digits), self.word_unk) for t in tokens]
        chars = [[self.chars.get(c, self.char_unk) for c in t[: self.max_word_length]] or [self.char_pad] for t in tokens]
        return words, [casing(t) for t in tokens], chars

    def emissions(self, encoded: list[tuple]) -> np.ndarray:
        """(B, T, K) tag scores of encoded sentences, padded as the data module pads them."""
        words, casings, chars = zip(*encoded)
        longest, widest = max(map(len, words)), max(len(w) for c in chars for w in c)
        char_ids = np.full((len(encoded), longest, widest), self.char_pad, dtype=np.int64)
        for i, sentence in enumerate(chars):
            for j, word in enumerate(sentence):
                char_ids[i, j, : len(word)] = word
        feed = {"input_ids": pad(list(words), self.word_pad), "casing": pad(list(casings), 0), "chars": char_ids,
                "lengths": np.array([len(w) for w in words], dtype=np.int64)}
        return self.session.run(["emissions"], {k: v for k, v in feed.items() if k in self.feeds})[0]

    def decode(self, emissions: np.ndarray, length: int) -> list[int]:
        if self.crf is None:
            return emissions[:length].argmax(axis=-1).tolist()
        return viterbi(emissions[:length], *self.crf)

    def predict_text(self, texts, batch_size: int | None = None) -> list[dict]:
        lines = [(i, text, *tagging_tokens(text)) for i, text in numbered(texts)]
        encoded, records = [self.encode(tokens) for _, _, tokens, _ in lines], []
        for group in length_groups([len(tokens) for _, _, tokens, _ in lines], batch_size or self.batch_size):
            scores = self.emissions([encoded[k] for k in group])
            for (i, text, tokens, offsets), row in zip((lines[k] for k in group), scores):
                tags = [self.tag_names[t] for t in self.decode(row, len(tokens))]
                entities = [{"type": type_, "start": offsets[a][0], "end": offsets[b][1],
                             "text": text[offsets[a][0]: offsets[b][1]], "token_start": a, "token_end": b + 1}
                            for type_, a, b in spans(tags)]
                records.append({"index": i, "text": text, "tokens": tokens, "tags": tags, "entities": entities})
        return with_blank(records, len(texts))
