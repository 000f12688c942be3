"""Does a label-conditioned language model write what it was asked for? The sentiment classifier judges.

A cross-task check of issue #23: a `ConditionalLanguageModel` trained on a
labelled corpus (configs/conditional/sst2_label_lstm.yaml) writes samples under
each label in turn, and the project's own classifier (a `Classifier`
checkpoint, e.g. from configs/sentiment/sst2_bilstm.yaml) labels them. The
figure is how often the predicted label is the requested one, per temperature
(sampling with the cached state, `seqlit.generation.sample`, each sample ending
at `<eos>`). Both models come from their checkpoints alone. A sample with no
words (`<eos>` first) counts as a miss. Run on a `condition: none` checkpoint,
the same command gives the baseline: a model that never reads the label.

    python bench/conditional_agreement.py --lm LM.ckpt --classifier SST2.ckpt \
        --temperatures 0.7 1.0 --samples 500 --out agreement.json
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import datasets
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from seqlit.callbacks.samples import encode_prompt, with_condition  # noqa: E402
from seqlit.io.checkpoints import import_class, load_checkpoint, stored_init_args  # noqa: E402
from seqlit.errors import SeqlitError  # noqa: E402
from seqlit.cli.generate import load_language_model  # noqa: E402
from seqlit.generation import sample  # noqa: E402
from seqlit.tasks import Classifier  # noqa: E402


def load_classifier(path: str):
    """(classifier in eval mode, its data module holding the vocabulary) from a checkpoint alone."""
    model = Classifier.load_from_checkpoint(path).eval()
    data = dict(load_checkpoint(path).get("datamodule_hyper_parameters") or {})
    dm = import_class(data["_class_path"])(**stored_init_args(data, path), vocab_from=path)
    dm.ensure_vocab()
    return model, dm


@torch.no_grad()
def judge(classifier, cdm, texts: list[str]) -> list[str | None]:
    """The classifier's label for each text; None for a text with no words."""
    out: list[str | None] = [None] * len(texts)
    keep = [i for i, t in enumerate(texts) if t.strip()]
    if keep:
        rows = datasets.Dataset.from_dict({cdm.text_column: [texts[i] for i in keep], "index": keep})
        examples = cdm.encode("samples", rows, None, False)
        batch = cdm.collate([examples[j] for j in range(len(examples))])
        for i, k in zip(keep, classifier(batch["input_ids"], batch["lengths"]).argmax(-1).tolist()):
            out[i] = classifier.label_names[k]
    return out


def agreement(lm, dm, classifier, cdm, temperature: float, samples: int, max_tokens: int, seed: int) -> dict:
    """`samples` samples at `temperature`, the labels requested in turn; the share the classifier agrees with."""
    if len(dm.condition_fields) != 1:
        raise SeqlitError(f"the language model reads {len(dm.condition_fields)} condition fields "
                          f"({', '.join(dm.condition_fields)}); the classifier judges one label: pass a one-field model")
    (labels,) = dm.condition_fields.values()
    unknown = [n for n in labels if n not in classifier.label_names]
    if unknown:
        raise SeqlitError(f"the language model's conditions {unknown} are not labels of the classifier "
                          f"({classifier.label_names}): pass a classifier trained on the same label set")
    start, stop = encode_prompt(dm, ""), dm.vocab.encode([dm.stop_token])[0]
    requested, texts = [], []
    for i in range(samples):
        label = labels[i % len(labels)]
        ids = sample(with_condition(lm, dm, label), start, max_tokens, temperature, stop_id=stop, seed=seed + i)
        requested.append(label)
        texts.append(dm.detokenize(dm.vocab.decode(ids)))
    predicted = judge(classifier, cdm, texts)
    hits = [p == r for p, r in zip(predicted, requested)]
    per_label = {n: sum(h for h, r in zip(hits, requested) if r == n) / requested.count(n) for n in labels if n in requested}
    return {"temperature": temperature, "samples": samples, "agreement": sum(hits) / samples, "per_label": per_label,
            "empty": sum(p is None for p in predicted),
            "examples": [{"requested": r, "predicted": p, "text": t} for r, p, t in zip(requested, predicted, texts)]}


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--lm", required=True, help="ConditionalLanguageModel checkpoint trained on a labelled corpus")
    p.add_argument("--classifier", required=True, help="Classifier checkpoint over the same labels (SST-2)")
    p.add_argument("--temperatures", type=float, nargs="+", default=[0.7, 1.0])
    p.add_argument("--samples", type=int, default=500, help="samples per temperature, the labels in turn")
    p.add_argument("--max_tokens", type=int, default=60, help="longest sample, in tokens")
    p.add_argument("--seed", type=int, default=0, help="sample i is drawn with seed + i")
    p.add_argument("--out", default=None, help="write every figure and sample as JSON here")
    return p


def main(argv: list[str] | None = None) -> list[dict]:
    args = build_parser().parse_args(argv)
    if args.samples <= 0 or args.max_tokens <= 0:
        raise SeqlitError("--samples and --max_tokens must be positive")
    lm, dm = load_language_model(args.lm)
    classifier, cdm = load_classifier(args.classifier)
    results = [agreement(lm, dm, classifier, cdm, t, args.samples, args.max_tokens, args.seed) for t in args.temperatures]
    for r in results:
        labels = ", ".join(f"{n} {v:.3f}" for n, v in r["per_label"].items())
        print(f"T={r['temperature']}: agreement {r['agreement']:.3f} over {r['samples']} samples ({labels}; "
              f"{r['empty']} empty)")
    if args.out:
        Path(args.out).write_text(json.dumps({"lm": args.lm, "classifier": args.classifier, "results": results}, indent=1))
    return results


if __name__ == "__main__":
    try:
        main()
    except SeqlitError as err:
        sys.exit(f"error: {err}")
