"""N = 4 `fit` runs started together into one `--trainer.default_root_dir`: each exits 0 with its own folder, whose
config.yaml, last.ckpt and results.json are all that run's (each run trains a different number of steps, with a
different seed), and nothing is left half-written. The runs wait for one another once built
(`tests.faults.inject.StartTogether`), so they reach their run folders within milliseconds. Once with the default W&B logger (random run ids) and once with
a CSV logger (versions claimed by `os.mkdir`, seqlit/run/claim.py).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
import yaml

from seqlit.io.checkpoints import load_checkpoint
from seqlit.run.claim import MARKER
from tests.conftest import REPO

RUNS = 4
TINY = [
    "--config", str(REPO / "configs" / "quickstart.yaml"),
    "--model.init_args.backbone.hidden_size", "16", "--model.init_args.embedding_dim", "8",
    "--data.init_args.level", "word", "--data.init_args.batch_size", "4", "--data.init_args.bptt", "8",
    "--data.init_args.eval_batch_size", "2", "--trainer.max_time", "null", "--test_after_fit", "false",
    "--trainer.enable_progress_bar", "false", "--num_threads", "1",
]
LOGGERS = {"wandb": [], "csv": ["--trainer.logger", "pytorch_lightning.loggers.CSVLogger"]}


def _fit_together(tmp_path, logger_args: list[str]) -> list[subprocess.CompletedProcess]:
    corpus = tmp_path / "corpus.txt"
    corpus.write_text("\n".join(f"the cat number {i % 7} sat on mat {i % 5} ." for i in range(400)) + "\n")
    env = {**os.environ, "PYTHONPATH": str(REPO), "WANDB_MODE": "offline", "WANDB_SILENT": "true",
           "HF_DATASETS_OFFLINE": "1", "HF_HUB_OFFLINE": "1"}
    together = json.dumps([{"class_path": "tests.faults.inject.StartTogether",
                             "init_args": {"folder": str(tmp_path / "arrived"), "parties": RUNS}}])
    procs = [subprocess.Popen(
        ["timeout", "300", sys.executable, "-m", "seqlit", "fit", *TINY, *logger_args,
         "--data.init_args.path", str(corpus), "--trainer.default_root_dir", str(tmp_path / "root"),
         "--trainer.callbacks", together,
         "--trainer.max_steps", str(3 + k), "--seed_everything", str(100 + k)],
        cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for k in range(RUNS)]
    done = []
    for proc in procs:
        out, err = proc.communicate(timeout=360)
        done.append(subprocess.CompletedProcess(proc.args, proc.returncode, out, err))
    return done


@pytest.mark.parametrize("logger", sorted(LOGGERS))
def test_four_fits_into_one_root_each_get_their_own_folder(tmp_path, logger):
    done = _fit_together(tmp_path, LOGGERS[logger])
    for proc in done:
        assert proc.returncode == 0, f"{proc.args[-3:]} exited {proc.returncode}:\n{proc.stderr[-4000:]}"
    root = tmp_path / "root"
    configs = sorted(c for c in root.rglob("config*.yaml") if (c.parent / "checkpoints").is_dir())  # not W&B's own
    assert [c.name for c in configs] == ["config.yaml"] * RUNS, configs  # none numbered: no two runs met in a folder
    steps = []
    for config in configs:
        folder = config.parent
        saved = yaml.safe_load(config.read_text())
        step = saved["trainer"]["max_steps"]
        assert saved["seed_everything"] == 100 + step - 3
        assert json.loads((folder / "results.json").read_text())["global_step"] == step
        assert load_checkpoint(str(folder / "checkpoints" / "last.ckpt"))["global_step"] == step
        steps.append(step)
    assert sorted(steps) == [3 + k for k in range(RUNS)]  # every run is there, once
    folders = {c.parent for c in configs}
    assert {p for f in folders for p in f.parent.iterdir()} == folders  # no empty folder claimed beside them
    left = [p for p in tmp_path.rglob("*") if ".tmp-" in p.name or p.name == MARKER]
    assert not left, left  # no temp file, and every run released its folder
