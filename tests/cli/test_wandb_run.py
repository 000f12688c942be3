"""What a W&B run of a fit holds, read back from its offline files: the full config, the learning rate, the best and
last checkpoints as model artifacts, and the first test predictions as a table."""

from __future__ import annotations

import glob
import json
from pathlib import Path

import pytest

from tests.conftest import REPO, run_seqlit
from tests.sentiment.corpus import make_sst_dir, sentences, write_split
from tests.wandb_records import artifacts, config, history


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("wandb")
    data = make_sst_dir(tmp / "sst", n_train=64)
    write_split(data / "test.parquet", *sentences(12, offset=2000))  # labelled, so the test has gold answers
    run_seqlit("fit", "--config", str(REPO / "configs" / "sentiment" / "sst2_bigru.yaml"), "--data.init_args.path",
               str(data), "--model.init_args.embedding_dim", "8", "--model.init_args.backbone.hidden_size", "8",
               "--data.init_args.batch_size", "16", "--data.init_args.test_split", "test", "--trainer.max_epochs", "2", "--trainer.max_time", "null",
               "--trainer.log_every_n_steps", "1", "--trainer.enable_progress_bar", "false", "--test_after_fit", "true",
               cwd=tmp)
    files = glob.glob(str(tmp / "runs" / "wandb" / "offline-run-*" / "run-*.wandb"))
    assert len(files) == 1, files
    return Path(files[0])


def test_the_run_config_is_the_whole_config_yaml(run):
    cfg = config(run)
    assert cfg["model"]["class_path"] == "seqlit.tasks.Classifier"
    assert cfg["model"]["init_args"]["backbone"]["init_args"]["hidden_size"] == 8
    assert cfg["data"]["init_args"]["batch_size"] == 16 and cfg["test_after_fit"] is True
    assert cfg["trainer"]["max_epochs"] == 2


def test_the_learning_rate_is_logged_per_step(run):
    rates = [v for row in history(run) for k, v in row.items() if k.startswith("lr-")]
    assert len(rates) >= 4 and len(set(rates)) > 1  # the cosine schedule moves


def test_best_and_last_checkpoints_are_model_artifacts(run):
    models = [a for a in artifacts(run) if a.type == "model"]
    aliases = [set(a.aliases) for a in models]
    assert any("best" in a for a in aliases) and all("latest" in a for a in aliases), aliases
    assert all([e.path for e in a.manifest.contents] == ["model.ckpt"] for a in models)
    originals = {json.loads(a.metadata)["original_filename"] for a in models}
    assert "last.ckpt" in originals and any(n.startswith("best-") for n in originals), originals


def test_the_first_test_predictions_are_a_table(run):
    assert any(k.startswith("test/predictions") for row in history(run) for k in row)
    tables = glob.glob(str(run.parent / "files" / "media" / "table" / "test" / "predictions_*.table.json"))
    assert len(tables) == 1
    table = json.loads(Path(tables[0]).read_text())
    assert table["columns"] == ["text", "gold", "predicted"]
    texts, labels = sentences(12, offset=2000)
    assert [row[0] for row in table["data"]] == texts  # the test split, in order
    assert [row[1] for row in table["data"]] == [["negative", "positive"][y] for y in labels]
    assert {row[2] for row in table["data"]} <= {"negative", "positive"}


def test_offline_true_still_logs_the_checkpoints(tmp_path):
    """Lightning refuses `offline=True` with `log_model`; seqlit passes it to wandb as its own offline mode."""
    data = make_sst_dir(tmp_path / "sst", n_train=32)
    run_seqlit("fit", "--config", str(REPO / "configs" / "sentiment" / "sst2_bigru.yaml"), "--data.init_args.path",
               str(data), "--model.init_args.embedding_dim", "8", "--model.init_args.backbone.hidden_size", "8",
               "--trainer.max_steps", "2", "--trainer.max_time", "null", "--trainer.enable_progress_bar", "false",
               "--test_after_fit", "false", "--trainer.logger.init_args.offline", "true", cwd=tmp_path)
    files = glob.glob(str(tmp_path / "runs" / "wandb" / "offline-run-*" / "run-*.wandb"))
    assert len(files) == 1 and any(a.type == "model" for a in artifacts(Path(files[0])))
