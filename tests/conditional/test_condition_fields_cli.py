"""Two condition fields through the CLI: fit on a corpus where the mood decides a text's first word and the place
its last, then `generate --condition mood=…,place=…` from the checkpoint alone writes what both fields ask for."""

from __future__ import annotations

import pytest
import torch

from seqlit.cli.generate import load_language_model
from tests.conditional.corpus import MOOD, PLACE, fields_text, write_fields_corpus
from tests.conditional.test_conditional_cli import checkpoint
from tests.conftest import REPO, run_seqlit

FIT = ["--config", str(REPO / "configs" / "conditional" / "sst2_label_lstm.yaml"),
       "--data.init_args.text_column", "text", "--data.init_args.condition_columns", "[mood, place]",
       "--data.init_args.val_fraction", "null", "--data.init_args.test_split", "test", "--data.init_args.max_vocab", "null",
       "--data.init_args.batch_size", "16", "--model.init_args.backbone.hidden_size", "16",
       "--model.init_args.embedding_dim", "8", "--model.init_args.condition_dim", "4", "--model.init_args.dropout", "0",
       "--model.init_args.embedding_dropout", "0", "--model.init_args.lr", "0.02", "--model.init_args.lr_schedule", "constant",
       "--trainer.max_steps", "100", "--trainer.max_time", "null", "--trainer.val_check_interval", "1.0",
       "--trainer.callbacks.init_args.condition", "mood=happy,place=sea", "--trainer.callbacks.init_args.max_tokens", "5",
       "--trainer.callbacks.init_args.every_n_epochs", "0", "--trainer.enable_progress_bar", "false",
       "--trainer.logger", "false", "--test_after_fit", "true"]


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("fields")
    proc = run_seqlit("fit", *FIT, "--data.init_args.path", str(write_fields_corpus(tmp / "corpus")),
                      "--trainer.default_root_dir", str(tmp / "run"), cwd=tmp)
    return proc, checkpoint(tmp / "run")


def test_fit_reads_both_fields_and_samples_under_them(trained):
    proc, _ = trained
    assert "conditions mood: 3 (<unk>, happy, sad); place: 3 (<unk>, city, sea)" in proc.stdout + proc.stderr
    assert "sample at the end of training" in proc.stdout and "test/ppl" in proc.stdout


@pytest.mark.parametrize("mood, place", [("happy", "sea"), ("sad", "city")])  # each field alone: the test after this
def test_generate_writes_what_both_fields_ask_for_from_the_checkpoint_alone(trained, tmp_path, mood, place):
    _, ckpt = trained
    out = run_seqlit("generate", "--ckpt_path", ckpt, "--condition", f"mood={mood},place={place}", "--temperature", "0",
                     "--max_tokens", "8", cwd=tmp_path)
    assert out.stdout.strip() == fields_text(mood, place) and list(tmp_path.iterdir()) == []


def test_the_first_word_depends_on_the_mood_only_and_the_last_on_the_place(trained):
    model, dm = load_language_model(trained[1])
    ids = {w: dm.vocab.encode([w])[0] for w in [*MOOD.values(), *PLACE.values()]}

    def logp(prompt: list[str], condition: str) -> torch.Tensor:
        with torch.no_grad():
            out, _ = model.conditioned(dm.condition_ids(condition)).step(torch.tensor([dm.vocab.encode(prompt)]))
        return out[0, -1]

    first = {(m, p): logp(["<bos>"], f"mood={m},place={p}") for m in MOOD for p in PLACE}
    last = {(m, p): logp(["<bos>", MOOD[m], "by", "the"], f"mood={m},place={p}") for m in MOOD for p in PLACE}
    for (m, p), lp in first.items():
        assert lp.argmax() == ids[MOOD[m]] and not torch.allclose(lp, first[("sad" if m == "happy" else "happy", p)])
    for (m, p), lp in last.items():
        assert lp.argmax() == ids[PLACE[p]] and not torch.allclose(lp, last[(m, "city" if p == "sea" else "sea")])


def test_a_bad_condition_for_two_fields_is_one_line(trained, tmp_path):
    _, ckpt = trained
    known = "(mood: '<unk>', 'happy', 'sad'; place: '<unk>', 'city', 'sea')"
    for condition, line in [  # every form of the line: test_condition_fields.py, in-process
        (None, f"this checkpoint writes under a condition: pass --condition, mood=NAME,place=NAME {known}"),
        ("mood=happy", f"--condition 'mood=happy' lacks place: pass mood=NAME,place=NAME {known}"),
        ("mood=glad,place=sea", "unknown condition mood='glad': the model knows mood '<unk>', 'happy', 'sad'"),
    ]:
        args = ("generate", "--ckpt_path", ckpt, *(["--condition", condition] if condition else []))
        proc = run_seqlit(*args, cwd=tmp_path, check=False)
        assert proc.returncode != 0 and proc.stderr.strip().splitlines() == [f"seqlit: error: {line}"], condition
