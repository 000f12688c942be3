"""`Task.load_from_checkpoint(path)` works in plain Python, with no Trainer, for every task.

It used to raise "is not attached to a `Trainer`": restoring the resume state asked the trainer for its
world size. Checked on the 0.1 fixture checkpoints and on checkpoints the current code writes (one step of fit),
which then predict on raw strings as `predict` does (`check_predict_text`, tests/test_predict_text.py).
"""

from __future__ import annotations

import importlib
import json
import shutil

import pytest
import torch

from seqlit.io.checkpoints import load_checkpoint
from tests.conftest import REPO, run_seqlit
from tests.test_predict_text import check_predict_text

LEGACY = REPO / "tests" / "fixtures" / "legacy"
EXPECTED = json.loads((LEGACY / "expected.json").read_text(encoding="utf-8"))
DATA = {"tagger": ["--data.init_args.path", "data/ner"],
        "classifier": ["--data.init_args.path", "data/sst", "--trainer.callbacks", "[]"],
        "language_model": ["--data.init_args.path", "data/lm.txt", "--data.init_args.bptt", "16",
                           "--data.init_args.batch_size", "4", "--trainer.callbacks", "[]"],
        "seq2seq": ["--data.init_args.train_size", "64", "--data.init_args.val_size", "16",
                    "--data.init_args.test_size", "16", "--data.init_args.batch_size", "32"]}


def task_class(ckpt: dict):
    module, _, name = ckpt["hyper_parameters"]["_class_path"].rpartition(".")
    return getattr(importlib.import_module(module), name)


def assert_loads_without_trainer(path) -> None:
    ckpt = load_checkpoint(path)
    cls = task_class(ckpt)
    model = cls.load_from_checkpoint(path)
    assert type(model) is cls and model._trainer is None
    expected = ckpt["state_dict"]  # in today's layout: load_checkpoint upgrades older ones (seqlit.io.upgrades)
    got = model.state_dict()
    assert got.keys() == expected.keys()
    assert all(torch.equal(got[k], expected[k]) for k in expected)


@pytest.mark.parametrize("task", sorted(EXPECTED))
def test_legacy_checkpoint_loads_in_plain_python(task):
    assert_loads_without_trainer(LEGACY / f"{task}.ckpt")


@pytest.mark.parametrize("task", sorted(EXPECTED))
def test_fresh_checkpoint_loads_in_plain_python(tmp_path, task):
    shutil.copytree(LEGACY / "data", tmp_path / "data")
    run_seqlit("fit", "--config", str(REPO / EXPECTED[task]["config"]), *DATA[task],
               "--trainer.max_steps", "1", "--trainer.max_time", "null", "--trainer.limit_val_batches", "1",
               "--trainer.logger", "false", "--trainer.enable_progress_bar", "false", "--test_after_fit", "false",
               "--num_threads", "1", cwd=tmp_path, env={"OMP_NUM_THREADS": "1"})
    assert_loads_without_trainer(tmp_path / "checkpoints" / "last.ckpt")
    check_predict_text(tmp_path, task, tmp_path / "checkpoints" / "last.ckpt")


@pytest.mark.parametrize("task, other", [("Classifier", "tagger"), ("Tagger", "language_model"),
                                         ("LanguageModel", "seq2seq")])
def test_another_tasks_checkpoint_is_one_line(task, other):
    """`Classifier.load_from_checkpoint(<a tagger's file>)` was a raw TypeError about `casing_dim`."""
    from seqlit.errors import SeqlitError
    import seqlit.tasks as tasks

    written_by = load_checkpoint(LEGACY / f"{other}.ckpt")["hyper_parameters"]["_class_path"].rsplit(".", 1)[1]
    with pytest.raises(SeqlitError, match=rf"written by another task \({written_by}\): use {written_by}\.load_from_checkpoint$"):
        getattr(tasks, task).load_from_checkpoint(LEGACY / f"{other}.ckpt")
    assert getattr(tasks, written_by).load_from_checkpoint(LEGACY / f"{other}.ckpt") is not None
