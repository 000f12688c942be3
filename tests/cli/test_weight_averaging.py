"""`--test_after_fit` with an EMA of the weights tests the averaged model, the one the best checkpoint was chosen by.

Lightning's WeightAveraging, once it has trained, reloads the raw weights when a checkpoint is restored (that is
what resuming needs); the CLI must keep it out of the test that follows fit. On the validation split, the test
loss must then equal the validation loss logged when the best checkpoint was saved.
"""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from tests.conftest import run_seqlit
from tests.sentiment.corpus import make_sst_dir

CONFIG = Path(__file__).resolve().parents[2] / "configs" / "sentiment" / "sst2_bilstm.yaml"  # has the EMA callback


def test_test_after_fit_scores_the_averaged_weights(tmp_path):
    data = make_sst_dir(tmp_path / "sst", n_train=256)
    run_seqlit("fit", "--config", str(CONFIG), "--data.init_args.path", str(data),
               "--model.init_args.embedding_dim", "16", "--model.init_args.backbone.hidden_size", "16",
               "--data.init_args.batch_size", "16", "--data.init_args.test_split", "validation",
               "--trainer.max_epochs", "2", "--trainer.max_time", "null", "--trainer.val_check_interval", "4",
               "--trainer.logger", "pytorch_lightning.loggers.CSVLogger", "--trainer.logger.save_dir", str(tmp_path),
               "--trainer.enable_progress_bar", "false", "--test_after_fit", "true", "--num_threads", "1", cwd=tmp_path)
    (metrics,) = tmp_path.glob("version_*/metrics.csv")
    rows = list(csv.DictReader(metrics.open()))
    vals = [r for r in rows if r.get("val/acc")]
    best = max(vals, key=lambda r: float(r["val/acc"]))  # max() keeps the first of ties, as ModelCheckpoint does
    (test,) = [r for r in rows if r.get("test/loss")]
    assert float(test["test/acc"]) == pytest.approx(float(best["val/acc"]), abs=1e-6)
    assert float(test["test/loss"]) == pytest.approx(float(best["val/loss"]), rel=1e-5)
