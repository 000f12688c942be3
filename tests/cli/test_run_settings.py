"""`test --ckpt_path X` runs with the threads X's run used (`num_threads: 1` on a busy CPU: 4 s, not 88 s), unless
the command line says otherwise; a checkpoint from before the setting was stored takes it from its run's
config.yaml. The thread count is read from the device that results.json records for the evaluation."""

from __future__ import annotations

import json

import torch

from seqlit.run.settings import KEY
from tests.cli.test_fit_test_generate import TINY
from tests.conftest import run_seqlit

ENV = {"OMP_NUM_THREADS": "2"}  # torch's own choice on the test machine's side, whatever its cores


def test_evaluation_runs_with_the_checkpoints_threads(tmp_path):
    text = tmp_path / "corpus.txt"
    text.write_text("\n".join(f"the cat number {i % 7} sat on mat {i % 5} ." for i in range(400)) + "\n")
    run_seqlit("fit", *TINY, "--data.init_args.path", str(text), "--trainer.max_steps", "2", "--num_threads", "1",
               cwd=tmp_path, env=ENV)
    (last,) = tmp_path.glob("runs/seqlit/*/checkpoints/last.ckpt")
    assert torch.load(last, weights_only=True)[KEY] == {"num_threads": 1}
    results = last.parent.parent / "results.json"

    def evaluated_on(*extra: str) -> str:
        run_seqlit("test", "--ckpt_path", str(last), *extra, cwd=tmp_path, env=ENV)
        return json.loads(results.read_text())["evaluations"][-1]["device"]

    assert evaluated_on().startswith("cpu: 1 threads")
    assert evaluated_on("--num_threads", "2").startswith("cpu: 2 threads")  # the command line wins
    ckpt = torch.load(last, weights_only=True)
    del ckpt[KEY]  # as today's main wrote it: the run folder's config.yaml says num_threads: 1
    torch.save(ckpt, last)
    assert evaluated_on().startswith("cpu: 1 threads")
