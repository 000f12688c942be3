"""`predict` streams: a SIGTERM mid-way over a big file leaves a valid prefix and says where it stopped; memory
stays flat as the input grows; the output-path rules hold through the CLI (refused before the model runs).

Real processes on the 0.1 tagger of tests/fixtures/legacy (slow tier).
"""

from __future__ import annotations

import importlib.util
import json
import os
import re
import signal
import subprocess
import sys
import threading
import time

from tests.conftest import REPO, run_seqlit

CKPT = REPO / "tests" / "fixtures" / "legacy" / "tagger.ckpt"
spec = importlib.util.spec_from_file_location("predict_stream_bench", REPO / "bench" / "predict_stream.py")
bench = importlib.util.module_from_spec(spec)
spec.loader.exec_module(bench)

ARGS = ("--ckpt_path", str(CKPT), "--data.init_args.predict_file", "in.txt", "--num_threads", "1",
        "--trainer.logger", "false", "--trainer.enable_progress_bar", "false")


def test_sigterm_mid_way_leaves_whole_lines_and_says_where_it_stopped(tmp_path):
    lines = 40_000
    bench.write_input(tmp_path / "in.txt", lines)
    env = {**os.environ, "PYTHONPATH": str(REPO), "WANDB_MODE": "offline", "HF_DATASETS_OFFLINE": "1"}
    proc = subprocess.Popen([sys.executable, "-m", "seqlit", "predict", *ARGS, "--data.init_args.eval_batch_size", "8",
                             "--predict_output", "out.jsonl"], cwd=tmp_path, env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline and proc.poll() is None:  # until some records have streamed out
        if any(p.name.startswith(".tmp-out.jsonl") and p.stat().st_size > 0 for p in tmp_path.iterdir()):
            break
        time.sleep(0.05)
    assert proc.poll() is None, "predict ended before it could be interrupted: make the input longer"
    proc.send_signal(signal.SIGTERM)
    _, stderr = proc.communicate(timeout=120)
    assert proc.returncode == 128 + signal.SIGTERM, stderr[-2000:]
    found = re.search(r"predict stopped by SIGTERM after (\d+) record\(s\): out.jsonl holds whole lines only, the "
                      r"records of input lines 1-(\d+); to finish, predict the input from line (\d+) on "
                      r"\(tail -n \+(\d+) in.txt\)", stderr)
    assert found, stderr[-2000:]
    written, last, start, tail = map(int, found.groups())
    assert 0 < written < lines and written == last and start == tail == last + 1
    raw = (tmp_path / "out.jsonl").read_bytes()
    assert raw.endswith(b"\n")  # no half-written last line
    records = [json.loads(line) for line in raw.decode("utf-8").splitlines()]  # every line valid JSON
    assert [r["index"] for r in records] == list(range(written))  # input order, no gap
    source = (tmp_path / "in.txt").read_text(encoding="utf-8").splitlines()
    assert all(r.get("text", "") == source[r["index"]] for r in records)
    assert not [p.name for p in tmp_path.iterdir() if p.name.startswith(".tmp-")]


def test_memory_stays_flat_as_the_input_grows(tmp_path):
    """Ten times the lines, about the same peak private memory (the whole-file path grew by kilobytes a line)."""
    peaks = {}
    for lines in (10_000, 100_000):
        bench.write_input(tmp_path / f"in-{lines}.txt", lines)
        result = bench.run(tmp_path / f"in-{lines}.txt", tmp_path / f"out-{lines}.jsonl", batch=64)
        assert result["records"] == lines
        peaks[lines] = result["peak_rss_anon_mb"]
    growth = peaks[100_000] - peaks[10_000]
    assert growth < 40, peaks  # 90,000 more lines: under 0.5 KB a line, where a list of them all would be far more


def test_an_existing_output_is_refused_before_the_model_runs(tmp_path):
    (tmp_path / "in.txt").write_text("Maria works in Paris .\n", encoding="utf-8")
    (tmp_path / "out.jsonl").write_text("keep\n", encoding="utf-8")
    proc = run_seqlit("predict", *ARGS, "--predict_output", "out.jsonl", cwd=tmp_path, check=False)
    assert proc.returncode == 2
    assert proc.stderr.strip().splitlines()[-1] == ("seqlit: error: --predict_output 'out.jsonl' exists (5 bytes): pass "
                                                    "--overwrite true to replace it, or name another file")
    assert (tmp_path / "out.jsonl").read_text(encoding="utf-8") == "keep\n"
    for same in ("in.txt", str(tmp_path / "in.txt")):
        proc = run_seqlit("predict", *ARGS, "--predict_output", same, "--overwrite", "true", cwd=tmp_path, check=False)
        assert proc.returncode == 2 and "is the same file as --data.init_args.predict_file" in proc.stderr
    assert (tmp_path / "in.txt").read_text(encoding="utf-8") == "Maria works in Paris .\n"


def test_a_fifo_gets_the_lines_as_they_are_predicted(tmp_path):
    (tmp_path / "in.txt").write_text("".join(f"Maria works in Paris {i} .\n" for i in range(30)), encoding="utf-8")
    os.mkfifo(tmp_path / "out.fifo")
    got: list[str] = []
    reader = threading.Thread(target=lambda: got.append((tmp_path / "out.fifo").read_text(encoding="utf-8")), daemon=True)
    reader.start()
    run_seqlit("predict", *ARGS, "--predict_output", "out.fifo", cwd=tmp_path)
    reader.join(timeout=60)
    assert [json.loads(line)["index"] for line in got[0].splitlines()] == list(range(30))
    assert (tmp_path / "out.fifo").is_fifo()
