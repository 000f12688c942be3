"""Either backend from the config: train with one, evaluate the same checkpoint with the other,
and get the same metrics (one parameter layout, the same function)."""

from __future__ import annotations

import csv
import glob
import math

from tests.conftest import REPO, run_seqlit

AGREEMENT = ["--config", str(REPO / "configs/agreement/base.yaml"), "--config", str(REPO / "configs/agreement/gru.yaml")]
SMALL = ["--data.init_args.distractor_length", "6", "--data.init_args.train_size", "256",
         "--data.init_args.val_size", "64", "--data.init_args.test_size", "128", "--model.init_args.backbone.hidden_size", "16",
         "--trainer.max_steps", "3", "--trainer.callbacks", "[]", "--trainer.enable_progress_bar", "false"]


def read_test_metrics(folder) -> dict[str, float]:
    rows = list(csv.DictReader(open(glob.glob(str(folder / "**" / "metrics.csv"), recursive=True)[0])))
    return {k: float(v) for row in rows for k, v in row.items() if v and k.startswith("test/")}


def test_scratch_trained_checkpoint_tests_the_same_with_fused(tmp_path):
    run_seqlit("fit", *AGREEMENT, *SMALL, "--model.init_args.backbone.backend", "scratch", "--trainer.logger", "false", cwd=tmp_path)
    ckpt = str(tmp_path / "checkpoints" / "last.ckpt")
    scores = {}
    for backend in ("scratch", "fused"):
        out = tmp_path / backend
        run_seqlit("test", "--ckpt_path", ckpt, "--model.init_args.backbone.backend", backend, "--trainer.enable_progress_bar", "false",
                   "--trainer.logger", "pytorch_lightning.loggers.CSVLogger", "--trainer.logger.save_dir", str(out), cwd=tmp_path)
        scores[backend] = read_test_metrics(out)
    assert scores["scratch"]["test/acc"] == scores["fused"]["test/acc"]
    assert math.isclose(scores["scratch"]["test/loss"], scores["fused"]["test/loss"], rel_tol=1e-5)
