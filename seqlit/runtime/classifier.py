"""The classifier's `predict_text`: words -> ids -> log-probabilities (ONNX) -> label and class probabilities."""

from __future__ import annotations

import numpy as np

from .errors import ModelFolderError
from .batches import length_groups
from .records import numbered, with_blank
from .text import SENTIMENT_TOKEN, pad


class OnnxClassifier:
    """An exported `seqlit.tasks.Classifier` (word tokenizer): `predict_text` gives `predict`'s records."""

    def __init__(self, spec: dict, config: dict, vocab: dict, session):
        if vocab.get("tokenizer", "word") != "word":
            raise ModelFolderError(f"this classifier reads {vocab.get('tokenizer')!r} subword pieces, whose tokenizer "
                                   "the runtime does not carry: use seqlit.deploy.load for it")
        data = config["data"]["init_args"]
        self.session, self.batch_size = session, int(data.get("eval_batch_size") or 32)
        self.max_length, self.lowercase = int(data["max_length"]), bool(vocab["lowercase"])
        self.index = {t: i for i, t in enumerate(vocab["tokens"]["tokens"])}
        self.pad, self.unk = self.index["<pad>"], self.index.get(vocab["tokens"].get("unk") or "<unk>")
        self.label_names = list(vocab["label_names"])

    def encode(self, text: str) -> list[int]:
        words = SENTIMENT_TOKEN.findall(text.lower() if self.lowercase else text)
        return [self.index.get(w, self.unk) for w in words][: self.max_length]

    def probabilities(self, ids: list[list[int]]) -> np.ndarray:
        log_probs = self.session.run(["log_probs"], {"input_ids": pad(ids, self.pad),
                                                     "lengths": np.array([len(i) for i in ids], dtype=np.int64)})[0]
        exp = np.exp(log_probs - log_probs.max(axis=-1, keepdims=True))
        return exp / exp.sum(axis=-1, keepdims=True)

    def predict_text(self, texts, batch_size: int | None = None) -> list[dict]:
        lines, records = numbered(texts), []
        ids = [self.encode(text) for _, text in lines]
        for group in length_groups([len(i) for i in ids], batch_size or self.batch_size):
            for k, p in zip(group, self.probabilities([ids[k] for k in group]).tolist()):
                i, text = lines[k]
                records.append({"index": i, "text": text, "label": self.label_names[max(range(len(p)), key=p.__getitem__)],
                                "probs": {name: round(q, 6) for name, q in zip(self.label_names, p)}})
        return with_blank(records, len(texts))
