"""A hub dataset id on a machine that cannot reach the hub, without HF_DATASETS_OFFLINE=1: one line naming the
unreachable host, and no retry lines (huggingface_hub retried five times per request, over 25 s)."""

from __future__ import annotations

import pytest

from huggingface_hub import constants

from seqlit.run.wandb_online import unreachable
from tests.cli.test_fit_test_generate import TINY
from tests.conftest import run_seqlit

ONLINE_MODE = {"HF_DATASETS_OFFLINE": "", "HF_HUB_OFFLINE": "", "OMP_NUM_THREADS": "1"}  # as a new user's shell


@pytest.mark.skipif(unreachable(constants.ENDPOINT) is None, reason="the hub is reachable from here")
def test_an_unreachable_hub_fails_at_once_in_one_line(tmp_path):
    proc = run_seqlit("fit", *TINY, "--data.init_args.path", "nobody/no-such-dataset", "--trainer.max_steps", "1",
                      "--num_threads", "1", cwd=tmp_path, env=ONLINE_MODE, check=False)
    errors = [line for line in proc.stderr.splitlines() if line.startswith("seqlit: error:")]
    assert proc.returncode == 2 and len(errors) == 1, proc.stderr[-3000:]
    assert "the hub cannot be reached (huggingface.co:443: " in errors[0] and "HF_DATASETS_OFFLINE" not in proc.stderr
    assert "Retrying in" not in proc.stderr and "thrown while requesting" not in proc.stderr
