"""The conditional LM through the CLI: fit on tiny data, generate --condition from the checkpoint alone, the
classifier's agreement (bench/conditional_agreement.py) on tiny checkpoints, and the cpu suite's entries."""

from __future__ import annotations

import glob
import json
import subprocess
import sys

import pytest

from tests.conditional.corpus import write_play
from tests.conftest import REPO, needs_shared_data, run_seqlit
from tests.sentiment.corpus import make_sst_dir

QUIET = ["--trainer.max_time", "null", "--trainer.enable_progress_bar", "false", "--trainer.log_every_n_steps", "1",
         "--trainer.val_check_interval", "3", "--trainer.logger", "false", "--test_after_fit", "true"]
TINY_LM = ["--config", str(REPO / "configs" / "conditional" / "sst2_label_lstm.yaml"), "--trainer.max_steps", "6",
           "--model.init_args.backbone.hidden_size", "16", "--model.init_args.embedding_dim", "8",
           "--model.init_args.condition_dim", "4", "--data.init_args.batch_size", "16",
           "--data.init_args.val_fraction", "0.1", "--data.init_args.max_vocab", "null",
           "--trainer.callbacks.init_args.max_tokens", "5", *QUIET]


def checkpoint(folder) -> str:
    return sorted(glob.glob(str(folder / "checkpoints" / "best-*.ckpt")))[-1]


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """A conditional LM (6 steps) and a sentiment classifier (4 steps) on the same tiny labelled corpus."""
    tmp = tmp_path_factory.mktemp("cond")
    sst = make_sst_dir(tmp / "sst")
    lm = run_seqlit("fit", *TINY_LM, "--data.init_args.path", str(sst), "--trainer.default_root_dir", str(tmp / "lm"),
                    cwd=tmp)
    run_seqlit("fit", "--config", str(REPO / "configs" / "sentiment" / "sst2_bilstm.yaml"), "--data.init_args.path",
               str(sst), "--data.init_args.test_split", "validation", "--trainer.max_steps", "4",
               "--model.init_args.backbone.hidden_size", "8", "--model.init_args.embedding_dim", "8",
               "--trainer.callbacks", "[]", "--trainer.default_root_dir", str(tmp / "clf"), *QUIET, cwd=tmp)
    return tmp, lm, checkpoint(tmp / "lm"), checkpoint(tmp / "clf")


def test_fit_tests_perplexity_and_records_the_model(trained):
    tmp, proc, _, _ = trained
    assert "test/ppl" in proc.stdout and "sample after epoch" in proc.stdout
    results = json.loads((tmp / "lm" / "results.json").read_text())
    assert results["model"]["task"] == "conditional_lm" and results["model"]["label"] == "lstm-cond-both"
    assert results["metrics"]["val/ppl"] > 1


def test_generate_under_a_condition_from_the_checkpoint_alone(trained, tmp_path):
    _, _, ckpt, _ = trained
    args = ("generate", "--ckpt_path", ckpt, "--max_tokens", "8", "--seed", "2", "--num_samples", "3")
    pos = run_seqlit(*args, "--condition", "positive", cwd=tmp_path)
    again = run_seqlit(*args, "--condition", "positive", cwd=tmp_path)
    neg = run_seqlit(*args, "--condition", "negative", cwd=tmp_path)
    assert pos.stdout == again.stdout  # that the condition changes the text: test_conditional_model.py
    assert pos.stdout.count("-" * 40) == neg.stdout.count("-" * 40) == 3 and "<bos>" not in pos.stdout and list(tmp_path.iterdir()) == []


def test_a_bad_or_missing_condition_is_one_line_naming_the_known_ones(trained, tmp_path):
    _, _, ckpt, _ = trained
    bad = run_seqlit("generate", "--ckpt_path", ckpt, "--condition", "happy", cwd=tmp_path, check=False)
    assert bad.returncode != 0 and bad.stderr.strip().splitlines() == [
        "seqlit: error: unknown condition 'happy': the model knows 'negative', 'positive'"]
    missing = run_seqlit("generate", "--ckpt_path", ckpt, cwd=tmp_path, check=False)
    assert missing.returncode != 0 and "pass --condition, one of 'negative', 'positive'" in missing.stderr


def test_a_plain_language_model_refuses_a_condition(tiny_corpus, tmp_path):
    run_seqlit("fit", "--config", str(REPO / "configs" / "quickstart.yaml"), "--data.init_args.path", str(tiny_corpus),
               "--trainer.max_steps", "2", "--model.init_args.backbone.hidden_size", "8", "--trainer.callbacks", "[]",
               "--trainer.default_root_dir", str(tmp_path / "lm"), *QUIET, cwd=tmp_path)
    ckpt = str(tmp_path / "lm" / "checkpoints" / "last.ckpt")
    assert run_seqlit("generate", "--ckpt_path", ckpt, "--max_tokens", "5", cwd=tmp_path).stdout.strip()
    proc = run_seqlit("generate", "--ckpt_path", ckpt, "--condition", "positive", cwd=tmp_path, check=False)
    assert proc.returncode != 0 and "this checkpoint is a LanguageModel, which reads no condition" in proc.stderr


def test_speaker_model_fits_on_both_backends_and_writes_for_a_speaker(tmp_path):
    play = write_play(tmp_path / "play.txt")
    for backend in ("fused", "scratch"):
        run_seqlit("fit", "--config", str(REPO / "configs" / "conditional" / "shakespeare_speaker_lstm.yaml"),
                   "--data.init_args.path", str(play), "--data.init_args.block_turns", "10", "--data.init_args.min_turns", "3",
                   "--model.init_args.backbone.hidden_size", "8", "--model.init_args.backbone.backend", backend,
                   "--trainer.max_steps", "3", "--trainer.callbacks.init_args.max_tokens", "5",
                   "--trainer.default_root_dir", str(tmp_path / backend), *QUIET, cwd=tmp_path)
    ckpt = checkpoint(tmp_path / "scratch")
    assert run_seqlit("generate", "--ckpt_path", ckpt, "--condition", "JULIET", "--max_tokens", "10", cwd=tmp_path).stdout
    unk = run_seqlit("generate", "--ckpt_path", ckpt, "--condition", "<unk>", "--max_tokens", "10", cwd=tmp_path)
    assert unk.returncode == 0


def test_agreement_counts_the_classifiers_verdicts(trained, tmp_path):
    _, _, lm, clf = trained
    out = tmp_path / "agreement.json"
    run = subprocess.run([sys.executable, str(REPO / "bench" / "conditional_agreement.py"), "--lm", lm, "--classifier", clf,
                          "--temperatures", "0.7", "1.0", "--samples", "6", "--max_tokens", "6", "--out", str(out)],
                         capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr[-2000:]
    assert "T=0.7: agreement" in run.stdout and "over 6 samples" in run.stdout
    results = json.loads(out.read_text())["results"]
    assert [r["temperature"] for r in results] == [0.7, 1.0]
    for r in results:
        examples = r["examples"]
        assert [e["requested"] for e in examples] == ["negative", "positive"] * 3
        assert r["agreement"] == sum(e["requested"] == e["predicted"] for e in examples) / 6
        assert r["empty"] == sum(e["predicted"] is None for e in examples)
        assert set(r["per_label"]) == {"negative", "positive"} and r["samples"] == 6


@needs_shared_data  # the suite is dry-run over ../shared/data
def test_cpu_suite_lists_the_conditional_entries(tmp_path):
    proc = run_seqlit("benchmark", "--suite", "configs/benchmarks/cpu.yaml", "--data_root", "../shared/data",
                      "--only", "cond*", "--dry_run", "--out", str(tmp_path / "cpu"), cwd=REPO)
    lines = [line for line in proc.stdout.splitlines() if line.startswith("cond-")]
    names = ["cond-sst2-label-lstm", "cond-sst2-none-lstm", "cond-shakespeare-speaker-lstm", "cond-shakespeare-none-lstm"]
    # three seeds each, one entry after the other
    assert [(line.split(":")[0], line.split("--seed_everything ")[1].split()[0]) for line in lines] == \
        [(name, str(seed)) for name in names for seed in (0, 1, 2)]
    assert all("--trainer.max_time 00:00:05:00" in line for line in lines)
    assert ["--model.init_args.condition none" in line for line in lines] == [False] * 3 + [True] * 3 + [False] * 3 + [True] * 3
    assert not (tmp_path / "cpu").exists()


def test_a_sample_condition_the_data_lacks_ends_the_run_before_training(tmp_path):
    sst = make_sst_dir(tmp_path / "sst", n_train=40)
    proc = run_seqlit("fit", *TINY_LM, "--data.init_args.path", str(sst), "--trainer.callbacks.init_args.condition", "ROMEO",
                      "--trainer.default_root_dir", str(tmp_path / "lm"), cwd=tmp_path, check=False)
    assert proc.returncode != 0 and "unknown condition 'ROMEO': the model knows 'negative', 'positive'" in proc.stderr
    assert not (tmp_path / "lm" / "checkpoints").exists()
