"""SIGTERM and Ctrl-C mean what a cluster means (seqlit/run/signals.py, seqlit/callbacks/interrupt.py).

Each signal is a real one, sent by the process to itself at a step the test picks (`tests.faults.inject`), so
it lands where the test says whatever the load. The fit step is drawn at random (printed on failure): a step
that validation follows goes through the other path, so over runs both are covered; the two are also pinned.
"""

from __future__ import annotations

import json
import os
import random
import re
import signal
import subprocess
import sys
import time

import pytest
import torch
import yaml

from tests.conftest import REPO, run_seqlit

LEGACY = REPO / "tests" / "fixtures" / "legacy"
VAL_EVERY = 5
FIT = ["--config", str(REPO / "configs" / "quickstart.yaml"), "--data.init_args.level", "word",
       "--model.init_args.backbone.hidden_size", "16", "--data.init_args.batch_size", "8", "--data.init_args.bptt", "16",
       "--seed_everything", "0", "--num_threads", "1", "--trainer.max_time", "null", "--trainer.max_epochs", "2",
       "--test_after_fit", "false", "--trainer.enable_progress_bar", "false", "--trainer.enable_model_summary", "false",
       "--trainer.logger", "false", "--trainer.val_check_interval", str(VAL_EVERY), "--trainer.limit_val_batches", "2"]


def signal_at(step: int, signum: str = "SIGTERM", times: int = 1, in_validation: bool = False) -> list[str]:
    return ["--trainer.callbacks+=tests.faults.inject.SignalAt", "--trainer.callbacks.step", str(step),
            "--trainer.callbacks.signum", signum, "--trainer.callbacks.times", str(times),
            "--trainer.callbacks.in_validation", str(in_validation).lower()]


@pytest.fixture(scope="module")
def uninterrupted(tmp_path_factory):
    """(work folder, args, the uninterrupted run's last.ckpt)."""
    work = tmp_path_factory.mktemp("signals")
    corpus = work / "corpus.txt"
    corpus.write_text("".join(f"the cat {i % 7} sees the dog {i % 5} .\n" for i in range(600)), encoding="utf-8")
    args = [*FIT, "--data.init_args.path", str(corpus)]
    run_seqlit("fit", *args, "--trainer.default_root_dir", "full", cwd=work)
    return work, args, torch.load(work / "full" / "checkpoints" / "last.ckpt", weights_only=True)


def interrupt_and_resume(uninterrupted, name: str, step: int, signum: str = "SIGTERM", in_validation: bool = False) -> dict:
    """The interrupted run's results.json, once the checks pass."""
    work, args, full = uninterrupted
    root = ["--trainer.default_root_dir", name]
    cut = run_seqlit("fit", *args, *root, *signal_at(step, signum, in_validation=in_validation), cwd=work, check=False)
    why = f"{signum} at step {step}:\n{cut.stderr[-3000:]}"
    assert cut.returncode == 128 + {"SIGTERM": 15, "SIGINT": 2}[signum], why
    assert "Traceback" not in cut.stderr and "Received SIGTERM" not in cut.stderr, why
    results = json.loads((work / name / "results.json").read_text())
    last = torch.load(work / name / "checkpoints" / "last.ckpt", weights_only=True)
    assert results["status"] == "interrupted" and results["signal"] == signum, results
    earliest = step if in_validation else step + 1  # the step it came in is finished
    assert results["global_step"] == last["global_step"] >= earliest, (results["global_step"], last["global_step"], why)
    assert last["global_step"] < full["global_step"], why  # it did stop early
    (hint,) = re.findall(r"to resume, run the same command with --ckpt_path (\S+)", cut.stderr)
    assert hint.endswith(f"{name}/checkpoints/last.ckpt"), hint
    assert not list((work / name).rglob(".tmp-*")), "a temporary file was left behind"

    run_seqlit("fit", *args, *root, "--ckpt_path", hint, cwd=work)
    resumed = torch.load(work / name / "checkpoints" / "last.ckpt", weights_only=True)
    assert resumed["global_step"] == full["global_step"]
    differ = [k for k in full["state_dict"] if not torch.equal(full["state_dict"][k], resumed["state_dict"][k])]
    assert not differ, f"{why}\nweights differ after the resume: {differ}"
    return results


def test_sigterm_at_a_random_step_of_fit_resumes_exactly(uninterrupted):
    steps = uninterrupted[2]["global_step"]
    interrupt_and_resume(uninterrupted, "random", random.randrange(1, steps - 2))


def test_sigterm_before_a_validation_lets_it_finish(uninterrupted):
    """The step before a validation: the validation runs whole, writes last.ckpt, then fit stops."""
    results = interrupt_and_resume(uninterrupted, "before_val", VAL_EVERY - 1)
    assert [v["step"] for v in results["validation"]] == [VAL_EVERY]


def test_sigterm_during_a_validation_lets_it_finish(uninterrupted):
    """Lightning alone would stop the validation after one batch; a resume from there would skip the rest."""
    results = interrupt_and_resume(uninterrupted, "in_val", 2 * VAL_EVERY, in_validation=True)
    assert [v["step"] for v in results["validation"]] == [VAL_EVERY, 2 * VAL_EVERY]  # the last one whole


def test_ctrl_c_in_fit_stops_the_same_way_and_exits_130(uninterrupted):
    interrupt_and_resume(uninterrupted, "sigint", 2 * VAL_EVERY + 2, "SIGINT")


def test_a_second_signal_exits_at_once(uninterrupted):
    work, args, _ = uninterrupted
    cut = run_seqlit("fit", *args, "--trainer.default_root_dir", "twice", *signal_at(3, times=2), cwd=work, check=False)
    assert cut.returncode == 143, cut.stderr[-2000:]
    assert "second SIGTERM: stopping now" in cut.stderr
    assert not (work / "twice" / "results.json").exists()  # nothing claims the run was saved


def test_a_signal_before_training_stops_at_once_and_saves_nothing(uninterrupted):
    work, args, _ = uninterrupted
    cut = run_seqlit("fit", *args, "--trainer.default_root_dir", "early", *signal_at(-1), cwd=work, check=False)
    assert cut.returncode == 143, cut.stderr[-2000:]
    assert "fit stopped by SIGTERM before training started: nothing was saved" in cut.stderr
    assert "Traceback" not in cut.stderr
    assert not list((work / "early").rglob("*.ckpt")) and not (work / "early" / "results.json").exists()


@pytest.mark.parametrize("signum, code", [("SIGTERM", 143), ("SIGINT", 130)])
def test_predict_stops_at_the_next_batch_and_keeps_the_whole_lines_written(tmp_path, signum, code):
    batch, done = 4, 3
    (tmp_path / "in.txt").write_text("".join(f"Maria works in Paris {i} .\n" for i in range(200)), encoding="utf-8")
    proc = run_seqlit("predict", "--ckpt_path", str(LEGACY / "tagger.ckpt"), "--data.init_args.predict_file", "in.txt",
                      "--data.init_args.eval_batch_size", str(batch), "--predict_output", "out.jsonl", "--num_threads", "1",
                      "--trainer.enable_progress_bar", "false", *signal_at(done, signum), cwd=tmp_path, check=False)
    assert proc.returncode == code, proc.stderr[-2000:]
    n = batch * done  # the batches before the signal, whose lines (all alike) come first
    assert (f"predict stopped by {signum} after {n} record(s): out.jsonl holds whole lines only, the records of "
            f"input lines 1-{n}; to finish, predict the input from line {n + 1} on (tail -n +{n + 1} in.txt)") in proc.stderr
    assert "Traceback" not in proc.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.txt", "out.jsonl"]  # no temporary file left
    records = [json.loads(line) for line in (tmp_path / "out.jsonl").read_text(encoding="utf-8").splitlines()]
    assert [r["index"] for r in records] == list(range(n))


def test_sigterm_stops_the_benchmark_after_the_running_entry_saves(tmp_path):
    """At a random moment of an entry: the entry gets the signal, saves and stops; the benchmark exits 143 within
    seconds, and results.jsonl holds the earlier run's record as it was: none of the interrupted entry, no broken line."""
    suite = yaml.safe_load((REPO / "configs" / "benchmarks" / "tiny.yaml").read_text())
    suite["entries"] = [{"name": "pydoc-char-gru", "dataset": "pydoc_topics", "seeds": [0, 1]}]
    suite["defaults"]["budget"]["max_steps"] = 100_000  # far more than the test waits for
    path = tmp_path / "long.yaml"
    path.write_text(yaml.safe_dump(suite))
    out = tmp_path / "out"
    out.mkdir()
    before = (REPO / "results" / "tiny" / "results.jsonl").read_bytes().splitlines(keepends=True)[0]
    (out / "results.jsonl").write_bytes(before)  # an earlier run's whole record: checked, then kept as it is
    env = {**os.environ, "PYTHONPATH": str(REPO), "HF_DATASETS_OFFLINE": "1", "WANDB_MODE": "offline"}
    proc = subprocess.Popen([sys.executable, "-m", "seqlit", "benchmark", "--suite", str(path), "--out", str(out),
                             "--wandb", "false"], cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 120
        while not list(out.glob("runs/pydoc-char-gru/*/checkpoints")) and time.monotonic() < deadline:
            assert proc.poll() is None, proc.stdout.read().decode()[-3000:]
            time.sleep(0.2)
        time.sleep(random.uniform(0.5, 3.0))  # somewhere in training
        proc.send_signal(signal.SIGTERM)
        start = time.monotonic()
        log, _ = proc.communicate(timeout=60)
        stopped_in = time.monotonic() - start
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 143, log.decode()[-3000:]
    assert stopped_in < 30, stopped_in  # the entry saves, writes results.json and closes W&B; 24 s was seen on the 2-core machine under full load
    assert (out / "results.jsonl").read_bytes() == before  # whole records only: none of the interrupted entry
    (run,) = out.glob("runs/pydoc-char-gru/*/")
    results = json.loads(next(run.rglob("results.json")).read_text())
    assert results["status"] == "interrupted" and 0 < results["global_step"] < 100_000
