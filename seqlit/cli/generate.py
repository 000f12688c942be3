"""`python -m seqlit generate`: sample text from a trained language-model checkpoint (`--condition` for a conditional one).

Everything comes from the checkpoint (read with `weights_only=True`): model, weights, vocabulary and
tokenization level. No config, no data files.
"""

from __future__ import annotations

import argparse
import math
import os
import sys

import torch

from seqlit.run import signals
from seqlit.io.checkpoints import import_class, load_checkpoint, model_from_checkpoint, stored_config
from seqlit.cli.commands import parse_flags
from seqlit.errors import SeqlitError
from seqlit.generation import stream
from seqlit.seeds import MAX_SEED, check_seed


def load_language_model(ckpt_path: str):
    """(model in eval mode, data module holding the vocabulary) from a checkpoint alone."""
    ckpt = load_checkpoint(ckpt_path)
    model_cls = stored_config(ckpt, ckpt_path).get("model", {}).get("class_path")
    if model_cls is None or not hasattr(import_class(model_cls), "step"):
        raise SeqlitError(f"checkpoint {ckpt_path!r} is not a language model (model: {model_cls}); "
                          "generate needs a checkpoint of seqlit.tasks.LanguageModel or ConditionalLanguageModel")
    model = model_from_checkpoint(ckpt_path, ckpt=ckpt)
    if model._checkpoint_data is None:
        raise SeqlitError(f"checkpoint {ckpt_path!r} holds no vocabulary (no data module state): generate needs "
                          "a checkpoint written by `seqlit fit`")
    return model.eval(), model._checkpoint_data


MAX_TOKENS = 10_000_000  # a few hours of sampling on a CPU: a larger bound is a typo (1e20), not a plan
CHUNK = 256  # ids decoded together while streaming, at most: decoding stays linear in the length


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m seqlit generate", description=__doc__.splitlines()[0],
                                exit_on_error=False)
    p.add_argument("--ckpt_path", help="(required) checkpoint of a LanguageModel or ConditionalLanguageModel "
                                       "(e.g. runs/…/checkpoints/last.ckpt)")
    p.add_argument("--prompt", default="", help="text to continue ('' starts a new line)")
    p.add_argument("--condition", default=None,
                   help="what a conditional language model writes under: a value per condition field, "
                        "FIELD=NAME,FIELD=NAME (label=positive,topic=news); a one-field model also takes "
                        "the bare name (positive, ROMEO …). A missing or unknown field or name lists those "
                        "the checkpoint knows")
    p.add_argument("--max_tokens", type=int, default=200,
                   help=f"tokens to generate (1 to {MAX_TOKENS:,}); they are printed as they are sampled")
    p.add_argument("--temperature", type=float, default=0.8,
                   help="softmax temperature, a finite number; 0 = greedy, and a tiny one tends to greedy")
    p.add_argument("--top_k", type=int, default=None, help="sample among the k most likely tokens only (1 to the vocabulary size)")
    p.add_argument("--top_p", type=float, default=None,
                   help="sample among the most likely tokens whose probabilities sum to p only (0 < p <= 1)")
    p.add_argument("--seed", type=int, default=0, help=f"sampling seed, 0 to {MAX_SEED} (same seed, same text)")
    p.add_argument("--stop_at_eos", action="store_true", help="stop at the end of a line (<eos>, or newline for characters)")
    p.add_argument("--num_samples", type=int, default=1, help="independent samples (seeds seed, seed+1, …)")
    return p


def check_options(args: argparse.Namespace) -> None:
    """The sampling options, before the checkpoint is loaded: one line for any out of range."""
    if not 0 < args.max_tokens <= MAX_TOKENS:
        raise SeqlitError(f"--max_tokens {args.max_tokens} is out of range: 1 to {MAX_TOKENS:,} tokens "
                          "(generate prints them as they are sampled; run it again for more)")
    if args.num_samples <= 0:
        raise SeqlitError(f"--num_samples must be positive, got {args.num_samples}")
    if not math.isfinite(args.temperature) or args.temperature < 0:
        raise SeqlitError(f"--temperature must be 0 (greedy) or more, got {args.temperature}: a finite number (a tiny one tends to greedy)")
    if args.top_k is not None and args.top_k <= 0:
        raise SeqlitError(f"--top_k must be positive, got {args.top_k}")
    if args.top_p is not None and not 0 < args.top_p <= 1:  # NaN fails too
        raise SeqlitError(f"--top_p must be a probability above 0 and at most 1, got {args.top_p}")
    check_seed(args.seed, "--seed", args.num_samples)


class TextStream:
    """Print sampled ids as text as they come, flushed: the prompt, then each new piece of the continuation.

    The ids since the last line break (at most `CHUNK`) are decoded together, as `continuation` decodes them,
    and only what that adds to the text is printed."""

    def __init__(self, dm, prompt: str, out):
        self.dm, self.out = dm, out
        self.newline = {dm.vocab.encode([dm.stop_token])[0]}
        self.pending: list[int] = []
        self.shown = self.text = ""  # the decoded text of `pending`: printed so far, and all of it
        self.sep = ""  # between the text so far and `pending`'s
        self.write(prompt)
        self.started = bool(prompt)

    def write(self, text: str) -> None:
        self.out.write(text)
        self.out.flush()

    def add(self, token: int) -> None:
        if not self.pending:
            self.sep = " " if self.started and self.dm.level == "word" else ""
        self.pending.append(token)
        text = self.dm.detokenize(self.dm.vocab.decode(self.pending))
        self.text = ("" if text.startswith("\n") else self.sep) + text
        if self.text.startswith(self.shown):
            self.write(self.text[len(self.shown):])
            self.shown = self.text
        if token in self.newline or len(self.pending) >= CHUNK:
            self.catch_up()
            self.pending, self.shown, self.started = [], "", not self.text.endswith("\n")

    def catch_up(self) -> None:
        """A piece that decoded differently once the next one came (subwords): print the rest as it now reads."""
        if self.pending and self.text != self.shown:
            self.write(self.text[len(os.path.commonprefix([self.text, self.shown])):])
            self.shown = self.text

    def end(self) -> None:
        self.catch_up()
        self.write("\n")


@torch.no_grad()  # a context, not set_grad_enabled(False): an in-process caller keeps its grad mode
def main(argv: list[str]) -> None:
    from seqlit.callbacks.samples import encode_prompt, with_condition

    args = parse_flags(build_parser(), argv, "generate")
    if not args.ckpt_path:
        raise SeqlitError("generate: --ckpt_path is required: a LanguageModel checkpoint, e.g. runs/seqlit/<run>/checkpoints/last.ckpt")
    check_options(args)
    model, dm = load_language_model(args.ckpt_path)
    if args.top_k is not None and args.top_k > len(dm.vocab):
        raise SeqlitError(f"--top_k {args.top_k} is more than the checkpoint's {len(dm.vocab)} tokens: "
                          f"pass 1 to {len(dm.vocab)}, or leave it out to sample among all")
    writer = with_condition(model, dm, args.condition)
    prompt = encode_prompt(dm, args.prompt)
    # a conditional model's sequence ends at its <eos>: what follows was never trained
    stop = dm.vocab.encode([dm.stop_token])[0] if args.stop_at_eos or writer is not model else None
    with signals.deferred("token"):
        for i in range(args.num_samples):
            text = TextStream(dm, args.prompt, sys.stdout)
            try:
                for token in stream(writer, prompt, args.max_tokens, args.temperature, args.top_k, stop_id=stop,
                                    seed=args.seed + i, top_p=args.top_p):
                    text.add(token)
                    signals.check()
            finally:
                text.end()  # whole lines only, interrupted or not
            if args.num_samples > 1:
                print("-" * 40, flush=True)
