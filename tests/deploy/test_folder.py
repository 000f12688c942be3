"""A model folder (`python -m seqlit export`) rebuilds the task without pickle: same weights, same `predict_text`
records and same test metrics as the checkpoint it came from, for every task (the tiny 0.1 fixture checkpoints,
tests/fixtures/legacy, which tests/test_legacy_checkpoints.py shows test and predict as they did)."""

from __future__ import annotations

import json
import shutil

import pytest
import torch

import seqlit.deploy
from seqlit.deploy.folder import CONFIG, VOCAB, WEIGHTS
from seqlit.errors import SeqlitError
from seqlit.tasks import Classifier, ConditionalLanguageModel, LanguageModel, Seq2Seq, Tagger
from tests.conftest import REPO, run_seqlit
from tests.test_predict_text import load as load_checkpoint_task

LEGACY = REPO / "tests" / "fixtures" / "legacy"
EXPECTED = json.loads((LEGACY / "expected.json").read_text(encoding="utf-8"))
TASKS = {"tagger": Tagger, "classifier": Classifier, "language_model": LanguageModel, "seq2seq": Seq2Seq,
         "conditional_lm": ConditionalLanguageModel}
TEXTS = ["John visited Paris on Monday .", "", "the film is great .", "zebra quux 12/03/2001"]


@pytest.fixture(scope="module")
def folders(tmp_path_factory):
    root = tmp_path_factory.mktemp("folders")
    return {task: seqlit.deploy.export(str(LEGACY / f"{task}.ckpt"), root / task) for task in TASKS}


@pytest.mark.parametrize("task", sorted(TASKS))
def test_folder_rebuilds_the_checkpoints_task(folders, task):
    folder = folders[task]
    assert sorted(p.name for p in folder.iterdir()) == ["README.md", CONFIG, WEIGHTS, VOCAB]  # flat: hub-uploadable
    model, reference = TASKS[task].from_pretrained(folder), load_checkpoint_task(LEGACY / f"{task}.ckpt")
    assert type(model) is TASKS[task] and not model.training
    want = reference.state_dict()
    got = model.state_dict()
    assert got.keys() == want.keys() and all(torch.equal(got[k], want[k]) for k in want)
    if task == "conditional_lm":  # no predict_text (no predict file format): one step from the same state instead
        ids, conditions = torch.tensor([[2, 4, 5], [2, 7, 8]]), torch.tensor([0, 1])
        assert torch.equal(model.step(ids, conditions)[0], reference.eval().step(ids, conditions)[0])
        assert model.data_module().vocab_state() == reference.data_module().vocab_state()
        return
    assert model.predict_text(TEXTS) == reference.predict_text(TEXTS)


@pytest.mark.parametrize("task", ["tagger", "classifier", "language_model", "seq2seq"])
def test_folder_tests_to_the_checkpoints_metrics(folders, task, tmp_path, monkeypatch):
    import pytorch_lightning as pl

    shutil.copytree(LEGACY / "data", tmp_path / "data")
    monkeypatch.chdir(tmp_path)  # the data module's paths (data/ner …) are relative to the run folder
    model = seqlit.deploy.load(folders[task])
    trainer = pl.Trainer(logger=False, enable_progress_bar=False, enable_model_summary=False, accelerator="cpu")
    metrics = trainer.test(model, datamodule=model.data_module(), verbose=False)[0]
    for name, value in EXPECTED[task]["test"].items():
        assert metrics[name] == pytest.approx(value, rel=1e-4, abs=1e-5), name


def test_model_card_names_task_and_data(folders):
    card = (folders["tagger"] / "README.md").read_text(encoding="utf-8")
    assert "Tagger" in card and "data/ner" in card and "Intended use" in card


def test_model_card_lists_results_json_metrics(tmp_path):
    run = tmp_path / "run"
    (run / "checkpoints").mkdir(parents=True)
    shutil.copy(LEGACY / "classifier.ckpt", run / "checkpoints" / "last.ckpt")
    (run / "results.json").write_text(json.dumps({"metrics": {"test/acc": 0.625, "val/acc": 0.75},
                                                  "tested": "final weights",
                                                  "command": ["python", "-m", "seqlit", "fit", "--config", "c.yaml"],
                                                  "commit": "0123abcd", "dirty": False}), encoding="utf-8")
    card = (seqlit.deploy.export(str(run / "checkpoints" / "last.ckpt"), tmp_path / "out") / "README.md").read_text()
    assert "test `acc`: 0.625" in card and "val `acc`: 0.75" in card and "final weights" in card
    assert "`python -m seqlit fit --config c.yaml`" in card and "`0123abcd`" in card


def test_export_refuses_a_non_empty_folder_unless_overwrite(tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    (out / "keep.txt").write_text("mine")
    with pytest.raises(SeqlitError, match="exists and is not empty.*--overwrite true"):
        seqlit.deploy.export(str(LEGACY / "tagger.ckpt"), out)
    assert (out / "keep.txt").read_text() == "mine"
    seqlit.deploy.export(str(LEGACY / "tagger.ckpt"), out, overwrite=True)
    assert not (out / "keep.txt").exists() and (out / WEIGHTS).is_file()
    assert [p.name for p in tmp_path.iterdir()] == ["out"]  # no temporary or old folder left beside it


def test_failed_export_leaves_nothing(tmp_path, monkeypatch):
    import safetensors.torch

    def fail(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(safetensors.torch, "save_file", fail)
    with pytest.raises(OSError, match="disk full"):
        seqlit.deploy.export(str(LEGACY / "tagger.ckpt"), tmp_path / "out")
    assert list(tmp_path.iterdir()) == []


def tampered(folders, tmp_path, task="tagger"):
    folder = tmp_path / task
    shutil.copytree(folders[task], folder)
    return folder


@pytest.mark.parametrize("name", [CONFIG, WEIGHTS, VOCAB])
def test_missing_file_is_named(folders, tmp_path, name):
    folder = tampered(folders, tmp_path)
    (folder / name).unlink()
    with pytest.raises(SeqlitError, match=f"has no {name}"):
        seqlit.deploy.load(folder)


def test_bad_json_names_file_and_line(folders, tmp_path):
    folder = tampered(folders, tmp_path)
    (folder / CONFIG).write_text('{"format": "seqlit-model",\n "task": }', encoding="utf-8")
    with pytest.raises(SeqlitError, match=r"config\.json' is not valid JSON \(line 2"):
        seqlit.deploy.load(folder)


def test_truncated_weights_are_named(folders, tmp_path):
    folder = tampered(folders, tmp_path)
    data = (folder / WEIGHTS).read_bytes()
    (folder / WEIGHTS).write_bytes(data[: len(data) // 2])
    with pytest.raises(SeqlitError, match=r"model\.safetensors' is truncated or not a safetensors file"):
        seqlit.deploy.load(folder)


def test_shape_mismatch_names_the_weight(folders, tmp_path):
    folder = tampered(folders, tmp_path)
    config = json.loads((folder / CONFIG).read_text())
    config["data_spec"]["vocab_size"] += 1
    (folder / CONFIG).write_text(json.dumps(config))
    with pytest.raises(SeqlitError, match=r"model\.safetensors' does not fit config\.json: .*embed"):
        seqlit.deploy.load(folder)


def test_foreign_class_is_not_imported(folders, tmp_path):
    folder = tampered(folders, tmp_path)
    config = json.loads((folder / CONFIG).read_text())
    config["task"]["class_path"] = "os.system"
    (folder / CONFIG).write_text(json.dumps(config))
    with pytest.raises(SeqlitError, match="outside seqlit and data_modules"):
        seqlit.deploy.load(folder)


def test_another_tasks_folder_is_refused(folders):
    with pytest.raises(SeqlitError, match="holds a Tagger: use Tagger.from_pretrained"):
        Classifier.from_pretrained(folders["tagger"])


def test_hub_id_offline_is_one_line(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(SeqlitError, match="not a local folder, and the Hugging Face hub cannot be asked.*HF_HUB_OFFLINE"):
        seqlit.deploy.load("someone/tagger")


def test_missing_local_folder(tmp_path):
    with pytest.raises(SeqlitError, match="does not exist"):
        seqlit.deploy.load(tmp_path / "nothing" / "here")


def test_export_command(tmp_path):
    proc = run_seqlit("export", "--ckpt_path", str(LEGACY / "classifier.ckpt"), "--out", "model", cwd=tmp_path)
    assert "model folder written" in proc.stdout and (tmp_path / "model" / WEIGHTS).is_file()
    again = run_seqlit("export", "--ckpt_path", str(LEGACY / "classifier.ckpt"), "--out", "model", cwd=tmp_path, check=False)
    assert again.returncode == 2 and again.stderr.count("\n") == 1 and "--overwrite true" in again.stderr
    bad = run_seqlit("export", "--ckpt_path", str(LEGACY / "classifier.ckpt"), cwd=tmp_path, check=False)
    assert bad.returncode == 2 and "--out is required" in bad.stderr
