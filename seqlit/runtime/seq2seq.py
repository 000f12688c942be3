"""The encoder–decoder's `predict_text`: source text -> ids -> encoder (ONNX) -> greedy or beam search over
decoder steps (ONNX) -> target text.

The search is `seqlit.tasks.Seq2Seq`'s, rule for rule: greedy takes the argmax each step until every row
has written `<eos>` or `max_output_length` tokens; beam search keeps `beam_size` prefixes per sentence (the
first alone alive at the start), lets a finished one only repeat `<eos>` at no cost, and returns the best of
the final beam by log P / length^alpha, the `<eos>` counted in the length. The output is cut at its first
`<eos>` and detokenized as the data module does.
"""

from __future__ import annotations

import numpy as np

from . import state as steps
from .errors import ModelFolderError
from .records import numbered, with_blank
from .text import pad, parallel_detokenize, parallel_tokens


class OnnxSeq2Seq:
    """An exported `seqlit.tasks.Seq2Seq`: `predict_text` gives `predict`'s records (index, source, translation)."""

    def __init__(self, spec: dict, config: dict, vocab: dict, sessions: dict):
        self.encoder, self.decoder = sessions["encoder"], sessions["decoder"]
        self.encoder_outputs = spec["graphs"]["encoder"]["outputs"]
        text, decoding = spec["text"], spec["decoding"]
        self.kind, self.lowercase = text["kind"], bool(text["lowercase"])
        self.decode, self.beam_size, self.alpha = decoding["decode"], int(decoding["beam_size"]), float(decoding["alpha"])
        self.max_length, self.bos, self.eos = int(decoding["max_output_length"]), int(decoding["bos_id"]), int(decoding["eos_id"])
        self.batch_size = int(config["data"]["init_args"].get("eval_batch_size") or 32)
        source = vocab["source"]
        self.source = {t: i for i, t in enumerate(source["tokens"])}
        self.source_pad, self.source_unk = self.source["<pad>"], self.source.get(source.get("unk") or "")
        self.target = list(vocab["target"]["tokens"])

    def encode(self, text: str) -> list[int]:
        tokens = parallel_tokens(text, self.kind, self.lowercase)
        if not tokens:
            raise ModelFolderError(f"source {text[:40]!r} holds no token the model reads")
        if self.source_unk is None and any(t not in self.source for t in tokens):
            raise ModelFolderError(f"source {text[:40]!r} holds a token outside the vocabulary, which has no <unk>")
        return [self.source.get(t, self.source_unk) for t in tokens]

    def start(self, ids: list[list[int]]) -> tuple[dict, dict]:
        """(memory, mask and keys as the decoder reads them, the decoder's first state) of a batch of sources."""
        lengths = np.array([len(x) for x in ids], dtype=np.int64)
        source = pad(ids, self.source_pad)
        out = dict(zip(self.encoder_outputs, self.encoder.run(self.encoder_outputs,
                                                             {"source_ids": source, "source_lengths": lengths})))
        memory = {"memory": out["memory"], "mask": np.arange(source.shape[1])[None, :] < lengths[:, None]}
        if "keys" in out:
            memory["keys"] = out["keys"]
        return memory, {n: out[n] for n in steps.NAMES if n in out}

    def step(self, y: np.ndarray, state: dict, memory: dict) -> tuple[np.ndarray, dict]:
        out, state = steps.run(self.decoder, {"y": y, **memory}, state)
        return out["log_probs"], state

    def greedy(self, ids: list[list[int]], max_length: int) -> list[list[int]]:
        memory, state = self.start(ids)
        y = np.full(len(ids), self.bos, dtype=np.int64)
        done, out = np.zeros(len(ids), dtype=bool), []
        for _ in range(max_length):
            log_probs, state = self.step(y, state, memory)
            y = log_probs.argmax(-1)
            out.append(y)
            done |= y == self.eos
            if done.all():
                break
        return [self.until_eos(row) for row in np.stack(out, axis=1).tolist()]

    def beam_search(self, ids: list[list[int]], k: int, alpha: float, max_length: int) -> list[list[int]]:
        memory, state = self.start(ids)
        batch = len(ids)
        expand = np.repeat(np.arange(batch), k)  # the k copies of each sentence, side by side
        memory, state = {n: m[expand] for n, m in memory.items()}, steps.rows(state, expand)
        scores = np.full((batch, k), -np.inf, dtype=np.float32)
        scores[:, 0] = 0.0  # the k copies start identical: only the first may extend
        tokens = np.empty((batch, k, 0), dtype=np.int64)
        finished = np.zeros((batch, k), dtype=bool)
        length = np.zeros((batch, k), dtype=np.float32)
        y = np.full(batch * k, self.bos, dtype=np.int64)
        for _ in range(max_length):
            log_probs, state = self.step(y, state, memory)
            vocab = log_probs.shape[-1]
            frozen = np.full(vocab, -np.inf, dtype=np.float32)
            frozen[self.eos] = 0.0  # a finished hypothesis may only repeat <eos>, at no cost
            log_probs = np.where(finished[..., None], frozen, log_probs.reshape(batch, k, vocab))
            candidates = (scores[..., None] + log_probs).reshape(batch, k * vocab)
            flat = np.argsort(-candidates, axis=-1, kind="stable")[:, :k]  # topk: the best k, best first
            scores = np.take_along_axis(candidates, flat, axis=-1)
            origin, y = flat // vocab, flat % vocab
            tokens = np.concatenate([np.take_along_axis(tokens, origin[..., None], axis=1), y[..., None]], axis=-1)
            was_finished = np.take_along_axis(finished, origin, axis=-1)
            length = np.take_along_axis(length, origin, axis=-1) + (~was_finished).astype(np.float32)
            finished = was_finished | (y == self.eos)
            state, y = steps.rows(state, (origin + np.arange(batch)[:, None] * k).reshape(-1)), y.reshape(-1)
            if finished.all():
                break
        best = (scores / np.maximum(length, np.float32(1)) ** np.float32(alpha)).argmax(-1)
        return [self.until_eos(row) for row in tokens[np.arange(batch), best].tolist()]

    def until_eos(self, ids: list[int]) -> list[int]:
        return ids[: ids.index(self.eos)] if self.eos in ids else ids

    def translate(self, sources: list[str], decode: str | None = None, beam_size: int | None = None,
                  alpha: float | None = None, max_length: int | None = None) -> list[str]:
        """The translations of `sources`, decoded as the model's `decode` says unless told otherwise."""
        decode, ids = decode or self.decode, [self.encode(s) for s in sources]
        if decode not in ("greedy", "beam"):
            raise ModelFolderError(f"decode must be 'greedy' or 'beam', got {decode!r}")
        length = max_length or self.max_length
        out = self.greedy(ids, length) if decode == "greedy" else \
            self.beam_search(ids, beam_size or self.beam_size, self.alpha if alpha is None else alpha, length)
        return [parallel_detokenize([self.target[i] for i in row], self.kind) for row in out]

    def predict_text(self, texts, batch_size: int | None = None, **decoding) -> list[dict]:
        """`predict`'s records; `decoding`: `decode`, `beam_size`, `alpha`, `max_length` (the model's by default)."""
        lines, records = [(i, t.strip()) for i, t in numbered(texts)], []
        size = batch_size or self.batch_size
        for first in range(0, len(lines), size):
            chunk = lines[first: first + size]
            for (i, source), translation in zip(chunk, self.translate([s for _, s in chunk], **decoding)):
                records.append({"index": i, "source": source, "translation": translation})
        return with_blank(records, len(texts))
