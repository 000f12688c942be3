"""A checkpoint write that runs out of room (RLIMIT_FSIZE: what a full disk or a quota does to a write) ends in one
line naming the file and the free space, exit 2, no temporary file, and the previous last.ckpt unchanged."""

from __future__ import annotations

import os
import resource
import signal
import subprocess
import sys

from tests.conftest import REPO, run_seqlit
from tests.faults.test_signals import FIT


def limit_file_size(limit: int):
    def preexec():
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # the write then fails with EFBIG instead of killing the process
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))
    return preexec


def test_checkpoint_write_past_the_file_size_limit(tmp_path):
    corpus = tmp_path / "corpus.txt"
    corpus.write_text("".join(f"the cat {i % 7} sees the dog {i % 5} .\n" for i in range(600)), encoding="utf-8")
    args = [*FIT, "--data.init_args.path", str(corpus), "--trainer.default_root_dir", "run"]
    run_seqlit("fit", *args, "--trainer.max_epochs", "1", cwd=tmp_path)
    folder = tmp_path / "run" / "checkpoints"
    last = folder / "last.ckpt"
    before = last.read_bytes()

    env = {**os.environ, "PYTHONPATH": str(REPO), "WANDB_MODE": "offline", "HF_DATASETS_OFFLINE": "1",
           "HF_HUB_OFFLINE": "1", "PYTHONDONTWRITEBYTECODE": "1"}
    proc = subprocess.run([sys.executable, "-m", "seqlit", "fit", *args, "--ckpt_path", str(last), "--trainer.max_epochs", "2"],
                          cwd=tmp_path, env=env, capture_output=True, text=True, timeout=600,
                          preexec_fn=limit_file_size(len(before) // 2))
    why = proc.stderr[-3000:]
    assert proc.returncode == 2, why
    assert "Traceback" not in proc.stderr, why
    lines = [line for line in proc.stderr.splitlines() if line.startswith("seqlit: error:")]
    assert len(lines) == 1, why
    assert str(folder) in lines[0] and "File too large" in lines[0] and "MiB free" in lines[0], why
    assert last.read_bytes() == before  # the previous checkpoint is intact
    assert not [name for name in os.listdir(folder) if name.startswith(".tmp-")]
