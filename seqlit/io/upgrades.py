"""Checkpoints of older layouts (seqlit 0.1, the one-field conditional LM, the one-reader classifier) in today's.

Applied once, where a checkpoint is read (`checkpoint_io.load_checkpoint`), so the rest sees only today's
layout. It imports nothing of seqlit's and only that reader imports it: no import cycle through it.
"""

from __future__ import annotations

from typing import Any, Callable

# what 0.1 took at the top level of model.init_args and now belongs to the `backbone:` section;
# `dropout` is copied there and keeps its own meaning in the task (on the backbone's outputs)
BACKBONE_KEYS = ("kind", "backend", "hidden_size", "num_layers", "bidirectional")
COPIED_KEYS = ("dropout",)


def rename_prefix(state: dict, old: str, new: str) -> None:
    """Move every weight under `old` (a dotted module path) to `new`, in place."""
    for key in [k for k in state if k.startswith(old + ".")]:
        state[new + key[len(old):]] = state.pop(key)


def backbone_section(hparams: dict, keys: tuple[str, ...] = BACKBONE_KEYS) -> dict:
    """0.1's top-level backbone options as today's `backbone:` section (a `seqlit.nn.Recurrent`)."""
    if "backbone" in hparams:
        return hparams
    new = {k: v for k, v in hparams.items() if k not in keys}
    init_args = {k: hparams[k] for k in keys + COPIED_KEYS if k in hparams}
    new["backbone"] = {"class_path": "seqlit.nn.Recurrent", "init_args": init_args}
    return new


def tagger(hparams: dict, spec: dict, state: dict) -> dict:
    """0.1 called the word vectors' size `word_dim`, the tags `tag_names` and the backbone `rnn`."""
    if "word_dim" in hparams:
        hparams["embedding_dim"] = hparams.pop("word_dim")
    if "tag_names" in spec:
        spec["label_names"] = spec.pop("tag_names")
    rename_prefix(state, "rnn", "backbone")
    return backbone_section(hparams)


def classifier(hparams: dict, spec: dict, state: dict) -> dict:
    """Before `ensemble` one reader's weights sat at the top level (they load as reader 0); 0.1 called each
    reader's backbone `rnn`."""
    for key in [k for k in state if k.split(".")[0] in ("embedding", "rnn", "pool", "out")]:
        state[f"readers.0.{key}"] = state.pop(key)
    for key in [k for k in state if k.split(".")[0] == "readers" and k.split(".")[2] == "rnn"]:
        parts = key.split(".")
        state[".".join(parts[:2] + ["backbone"] + parts[3:])] = state.pop(key)
    return backbone_section(hparams, BACKBONE_KEYS + ("nonlinearity", "keep_bias", "orthogonal_init"))


def language_model(hparams: dict, spec: dict, state: dict) -> dict:
    """0.1 called the backbone `rnn`; its options sat at the top level (a word LM has no `bidirectional`)."""
    rename_prefix(state, "rnn", "backbone")
    return backbone_section(hparams, ("kind", "backend", "hidden_size", "num_layers", "nonlinearity", "weight_dropout"))


def conditional_lm(hparams: dict, spec: dict, state: dict) -> dict:
    """The one-field layout linked one `condition_names` list and had one table, `condition_embedding` (it came
    after the `backbone:` section)."""
    if "condition_names" in spec and "condition_fields" not in spec:
        spec["condition_fields"] = {"condition": list(spec.pop("condition_names"))}
    rename_prefix(state, "condition_embedding", "condition_embeddings.0")
    return hparams


def seq2seq(hparams: dict, spec: dict, state: dict) -> dict:
    """0.1's encoder was `encoder`, its one-layer decoder cell a torch cell `cell` (`decoder_kind`,
    `decoder_hidden_size`): today's `backbone:` and `decoder:` sections."""
    rename_prefix(state, "encoder", "backbone")
    for key in [k for k in state if k.startswith("cell.")]:
        state[f"decoder.rnn.{key[len('cell.'):]}_l0"] = state.pop(key)
    if "decoder" in hparams:
        return hparams
    kind, size = hparams.pop("decoder_kind", "gru"), hparams.pop("decoder_hidden_size", None)
    size = size or hparams.get("hidden_size", 256) * (2 if hparams.get("bidirectional", True) else 1)
    hparams = backbone_section(hparams)
    hparams["decoder"] = {"class_path": "seqlit.nn.Recurrent", "init_args": {"kind": kind, "hidden_size": size}}
    return hparams


UPGRADES: dict[str, Callable[[dict, dict, dict], dict]] = {
    "Tagger": tagger, "Classifier": classifier, "LanguageModel": language_model,
    "ConditionalLanguageModel": conditional_lm, "Seq2Seq": seq2seq}


def upgrade(ckpt: dict[str, Any], task: str | None = None) -> dict[str, Any]:
    """`ckpt` (as read) with its model's init arguments, data spec and weights in today's layout, in place.

    `task`: the task's class name, for a checkpoint that names none (saved outside the CLI, loaded by
    `Task.load_from_checkpoint`)."""
    hparams = ckpt.get("hyper_parameters")
    class_path = hparams.get("_class_path") if isinstance(hparams, dict) else None
    if task is None and (not isinstance(class_path, str) or not class_path.startswith("seqlit.tasks.")):
        return ckpt
    step = UPGRADES.get(task or class_path.rpartition(".")[2])
    if step is not None:
        spec = dict(hparams.get("data_spec") or {})
        ckpt["hyper_parameters"] = step(dict(hparams), spec, ckpt["state_dict"])
        if hparams.get("data_spec") is not None:
            ckpt["hyper_parameters"]["data_spec"] = spec
    return ckpt
