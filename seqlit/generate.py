"""`python -m seqlit generate`: sample text from a trained language-model checkpoint (`--condition` for a conditional one).

Everything comes from the checkpoint (read with `weights_only=True`): the
model's class and hyper-parameters, its weights, and the data module's
vocabulary and tokenization level. No config, no data files.
"""

from __future__ import annotations

import argparse

import torch

from seqlit.checkpoint_io import import_class, load_checkpoint, stored_init_args, trusted_class_path
from seqlit.commands import parse_flags
from seqlit.errors import SeqlitError
from seqlit.generation import sample


def load_language_model(ckpt_path: str):
    """(model in eval mode, data module holding the vocabulary) from a checkpoint alone."""
    ckpt = load_checkpoint(ckpt_path)
    hparams = dict(ckpt.get("hyper_parameters") or {})
    data_hparams = dict(ckpt.get("datamodule_hyper_parameters") or {})
    model_cls, data_cls = hparams.get("_class_path"), data_hparams.get("_class_path")
    if model_cls and data_cls:  # importing runs code: only seqlit's own classes
        model_cls, data_cls = trusted_class_path(model_cls, ckpt_path), trusted_class_path(data_cls, ckpt_path)
    if not model_cls or not data_cls or not hasattr(import_class(model_cls), "step"):
        raise SeqlitError(f"checkpoint {ckpt_path!r} is not a language model (model: {model_cls}); "
                          "generate needs a checkpoint of seqlit.tasks.LanguageModel or ConditionalLanguageModel")
    spec = hparams.get("data_spec")
    model_cls = import_class(model_cls)
    model = model_cls(data_spec=None if spec is None else model_cls.upgrade_spec(dict(spec)), **stored_init_args(hparams, ckpt_path))
    model.upgrade_state_dict(ckpt["state_dict"])
    model.load_state_dict(ckpt["state_dict"])
    dm = import_class(data_cls)(**stored_init_args(data_hparams, ckpt_path), vocab_from=ckpt_path)
    dm.ensure_vocab()
    return model.eval(), dm


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
    p.add_argument("--max_tokens", type=int, default=200, help="tokens to generate")
    p.add_argument("--temperature", type=float, default=0.8, help="softmax temperature; 0 = greedy")
    p.add_argument("--top_k", type=int, default=None, help="sample among the k most likely tokens only")
    p.add_argument("--seed", type=int, default=0, help="sampling seed (same seed, same text)")
    p.add_argument("--stop_at_eos", action="store_true", help="stop at the end of a line (<eos>, or newline for characters)")
    p.add_argument("--num_samples", type=int, default=1, help="independent samples (seeds seed, seed+1, …)")
    return p


@torch.no_grad()  # a context, not set_grad_enabled(False): an in-process caller keeps its grad mode
def main(argv: list[str]) -> None:
    from seqlit.callbacks.samples import continuation, encode_prompt, with_condition

    args = parse_flags(build_parser(), argv, "generate")
    if not args.ckpt_path:
        raise SeqlitError("generate: --ckpt_path is required: a LanguageModel checkpoint, e.g. runs/seqlit/<run>/checkpoints/last.ckpt")
    if args.max_tokens <= 0 or args.num_samples <= 0:
        raise SeqlitError("--max_tokens and --num_samples must be positive")
    if args.temperature < 0:
        raise SeqlitError(f"--temperature must be 0 (greedy) or more, got {args.temperature}")
    if args.top_k is not None and args.top_k <= 0:
        raise SeqlitError(f"--top_k must be positive, got {args.top_k}")
    model, dm = load_language_model(args.ckpt_path)
    writer = with_condition(model, dm, args.condition)
    prompt = encode_prompt(dm, args.prompt)
    # a conditional model's sequence ends at its <eos>: what follows was never trained
    stop = dm.vocab.encode([dm.stop_token])[0] if args.stop_at_eos or writer is not model else None
    for i in range(args.num_samples):
        ids = sample(writer, prompt, args.max_tokens, args.temperature, args.top_k, stop_id=stop, seed=args.seed + i)
        print(continuation(dm, args.prompt, ids))
        if args.num_samples > 1:
            print("-" * 40)
