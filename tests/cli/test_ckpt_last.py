"""`--ckpt_path last` with no last checkpoint is one line and exit 2, before anything is written: Lightning only
warned and started a new run (or, at test, scored untrained weights)."""

from __future__ import annotations

import pytest

from tests.cli.test_fit_test_generate import TINY
from tests.conftest import run_seqlit


@pytest.mark.parametrize("command", ["fit", "test"])
def test_ckpt_path_last_without_a_checkpoint_is_one_line(tmp_path, command):
    text = tmp_path / "corpus.txt"
    text.write_text("\n".join(f"the cat number {i % 7} sat on mat {i % 5} ." for i in range(400)) + "\n")
    proc = run_seqlit(command, *TINY, "--data.init_args.path", str(text), "--trainer.max_steps", "2",
                      "--num_threads", "1", "--ckpt_path", "last", cwd=tmp_path, check=False, env={"OMP_NUM_THREADS": "1"})
    errors = [line for line in proc.stderr.splitlines() if line.startswith("seqlit: error:")]
    assert proc.returncode == 2 and len(errors) == 1, proc.stderr[-2000:]
    assert "--ckpt_path last: no last checkpoint to resume" in errors[0] and "checkpoints/last.ckpt" in errors[0]
    assert not list(tmp_path.glob("runs/seqlit/*/checkpoints/*.ckpt")) and "no last checkpoint available" not in proc.stderr
