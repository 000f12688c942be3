"""`generate` prints text as it is sampled (the same text `continuation` decodes from the whole list of ids),
refuses sampling options out of range with one line, and stops at the next token on SIGTERM (exit 143)."""

from __future__ import annotations

import io
import os
import signal
import subprocess
import sys
import time

import pytest

from seqlit.callbacks.samples import continuation, encode_prompt
from seqlit.cli.generate import TextStream, load_language_model
from seqlit.generation import sample
from tests.conftest import REPO
from tests.test_bad_input import one_line_error, seqlit

LEGACY = REPO / "tests" / "fixtures" / "legacy"
LM = str(LEGACY / "language_model.ckpt")


class Recorder(io.StringIO):
    """Counts the flushes: streaming means one per token at least."""
    flushes = 0

    def flush(self):
        self.flushes += 1


@pytest.mark.parametrize("ckpt", ["language_model", "conditional_lm"])
@pytest.mark.parametrize("prompt", ["", "the"])
def test_streamed_text_is_the_continuation(ckpt, prompt):
    model, dm = load_language_model(str(LEGACY / f"{ckpt}.ckpt"))
    writer = model.conditioned(0) if hasattr(model, "conditioned") else model
    ids = sample(writer, encode_prompt(dm, prompt), 300, 1.2, None, seed=5)
    out = Recorder()
    text = TextStream(dm, prompt, out)
    for token in ids:
        text.add(token)
    text.end()
    assert out.getvalue() == continuation(dm, prompt, ids) + "\n"
    assert out.flushes >= len(ids)


@pytest.mark.parametrize("flag, value, needle", [
    ("--temperature", "nan", "--temperature must be 0 (greedy) or more, got"),
    ("--temperature", "inf", "--temperature must be 0 (greedy) or more, got"),
    ("--temperature", "-1", "--temperature must be 0 (greedy) or more, got"),
    ("--top_k", "0", "--top_k must be positive"),
    ("--top_k", "100000", "more than the checkpoint's"),
    ("--top_p", "0", "--top_p must be a probability"),
    ("--top_p", "1.5", "--top_p must be a probability"),
    ("--top_p", "nan", "--top_p must be a probability"),
    ("--seed", str(2**64), "a seed is a whole number from 0 to 4294967295"),
    ("--seed", "-1", "a seed is a whole number from 0 to 4294967295"),
    ("--max_tokens", str(10**20), "--max_tokens 100000000000000000000 is out of range"),
    ("--max_tokens", "0", "is out of range: 1 to 10,000,000"),
])
def test_sampling_options_out_of_range_are_one_line(tmp_path, flag, value, needle):
    run = seqlit("generate", "--ckpt_path", LM, flag, value, cwd=tmp_path)
    one_line_error(run, needle)


def test_the_last_seed_of_several_samples_is_in_range_too(tmp_path):
    run = seqlit("generate", "--ckpt_path", LM, "--seed", str(2**32 - 2), "--num_samples", "3", cwd=tmp_path)
    one_line_error(run, "its 3 samples use seeds 4294967294 to 4294967296")


@pytest.mark.parametrize("temperature", ["1e-45", "1e-30"])
def test_a_tiny_temperature_tends_to_greedy(tmp_path, temperature):
    greedy = seqlit("generate", "--ckpt_path", LM, "--temperature", "0", "--max_tokens", "20", cwd=tmp_path)
    tiny = seqlit("generate", "--ckpt_path", LM, "--temperature", temperature, "--max_tokens", "20", cwd=tmp_path)
    assert greedy.code == tiny.code == 0, tiny.err[-2000:]
    assert tiny.out == greedy.out


def test_top_p_keeps_the_nucleus():
    import torch
    from seqlit.generation import pick

    log_probs = torch.tensor([0.5, 0.3, 0.15, 0.05]).log()
    drawn = {pick(log_probs, 1.0, None, torch.Generator().manual_seed(s), top_p=0.7) for s in range(200)}
    assert drawn == {0, 1}  # 0.5 alone is short of 0.7; 0.5 + 0.3 reaches it


def test_sigterm_stops_generate_at_the_next_token(tmp_path):
    """A bound of millions of tokens: text appears at once, and SIGTERM ends it within seconds, exit 143."""
    env = {**os.environ, "PYTHONPATH": str(REPO), "HF_DATASETS_OFFLINE": "1", "WANDB_MODE": "offline"}
    proc = subprocess.Popen([sys.executable, "-m", "seqlit", "generate", "--ckpt_path", LM, "--max_tokens", "5000000"],
                            cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        first = proc.stdout.read(20)  # streamed: there long before 5 million tokens are sampled
        assert first, proc.stderr.read()
        proc.send_signal(signal.SIGTERM)
        start = time.monotonic()
        rest, err = proc.communicate(timeout=30)
        assert time.monotonic() - start < 10
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 143, err.decode()[-2000:]
    assert (first + rest).endswith(b"\n")  # the line is ended
    assert b"SIGTERM: stopping after the current token" in err and b"Traceback" not in err


@pytest.mark.parametrize("seed", [str(2**32), "-5"])
def test_seed_everything_out_of_range_is_one_line(tmp_path, seed):
    """Lightning would warn and train with a random seed instead: a run meant to be reproducible would not be."""
    run = seqlit("fit", "--config", str(REPO / "configs" / "quickstart.yaml"), "--seed_everything", seed, cwd=tmp_path)
    one_line_error(run, f"--seed_everything {seed} is out of range")
