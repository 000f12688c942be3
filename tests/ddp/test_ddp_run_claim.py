"""Under DDP a run folder held by another live run is refused on every rank, not on rank zero alone.

The two ranks are started as SLURM's `srun` or `torchrun` start them: two independent processes (LOCAL_RANK set,
so Lightning launches nothing and kills nothing). Rank zero decides (seqlit/run/config.py) and broadcasts: both
exit 2 with the one-line refusal within the timeout. Before, rank zero exited alone and rank one waited at
Lightning's broadcast, then died with gloo's "Connection closed by peer" traceback (with NCCL it would wait for
the process-group timeout).
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys

from seqlit.run.claim import MARKER
from tests.conftest import REPO
from tests.ddp.ddp_helpers import DDP2, QUIET

TINY = ["--config", str(REPO / "configs" / "quickstart.yaml"), "--model.init_args.backbone.hidden_size", "8",
        "--model.init_args.embedding_dim", "8", "--trainer.max_steps", "2", "--test_after_fit", "false",
        "--trainer.logger", "false", "--trainer.callbacks", "[]"]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_every_rank_refuses_a_held_folder(tmp_path):
    root = tmp_path / "held"
    root.mkdir()
    holder = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(300)"])
    (root / MARKER).write_text(f"{holder.pid} {socket.gethostname()}")
    port = _free_port()
    ranks = []
    try:
        for rank in (0, 1):
            env = {**os.environ, "PYTHONPATH": str(REPO), "WANDB_MODE": "offline", "HF_DATASETS_OFFLINE": "1",
                   "OMP_NUM_THREADS": "1", "MASTER_ADDR": "127.0.0.1", "MASTER_PORT": str(port), "NODE_RANK": "0",
                   "LOCAL_RANK": str(rank)}
            ranks.append(subprocess.Popen(
                [sys.executable, "-m", "seqlit", "fit", *TINY, *DDP2, *QUIET, "--trainer.default_root_dir", str(root)],
                cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True))
        outputs = []
        for proc in ranks:
            try:
                outputs.append(proc.communicate(timeout=240))
            except subprocess.TimeoutExpired:
                raise AssertionError(f"rank {ranks.index(proc)} still running after 240 s: it waits for rank zero")
    finally:
        for proc in [*ranks, holder]:
            proc.kill()
            proc.wait()
    for rank, (proc, (out, err)) in enumerate(zip(ranks, outputs)):
        assert proc.returncode == 2, f"rank {rank} exited {proc.returncode}:\n{err[-3000:]}"
        assert f"held by another live run (pid {holder.pid}" in err, f"rank {rank}:\n{err[-3000:]}"
        assert "Traceback" not in err, f"rank {rank}:\n{err[-3000:]}"
    assert sorted(p.name for p in root.iterdir()) == [MARKER], "the refused run wrote into the held folder"
