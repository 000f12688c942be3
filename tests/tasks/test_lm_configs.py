"""The shipped language-model configs parse, build model, data, optimizer and schedule, and train a step.

A typo in a class path, a key or a scheduler argument should show up here in
seconds rather than after a 15-minute run. Each config's own data path is
checked to exist; training then reads a slice of the same files (the first
lines of each split), because tokenizing all of WikiText-2 twice would cost
most of the time budget of this test without checking anything more.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pyarrow.parquet as pq
import pytest
import yaml

from data_modules.base import SeqDataModule
from seqlit.callbacks import SampleText
from seqlit.cli.trainer import TRAINER_DEFAULTS, SeqlitCLI
from seqlit.tasks import LanguageModel
from seqlit.tasks.base import SeqTask

REPO = Path(__file__).resolve().parents[2]
SHARED_DATA = REPO.parent / "shared" / "data"
CONFIGS = sorted((REPO / "configs" / "lm").glob("*.yaml"))
TRAIN_LINES = 3000  # WikiText-2's first 3000 lines hold 13.8k word types: more than the adaptive cutoffs need
needs_shared_data = pytest.mark.skipif(not SHARED_DATA.is_dir(), reason=f"shared data folder {SHARED_DATA} is absent")


def test_all_four_configs_are_there():
    assert {p.stem for p in CONFIGS} >= {"wikitext2_lstm", "wikitext2_gru", "shakespeare_char_lstm", "shakespeare_char_gru"}


@pytest.fixture(scope="module")
def slices(tmp_path_factory) -> dict[str, Path]:
    """Config data path (as written in the configs) -> a small copy with the same layout."""
    root = tmp_path_factory.mktemp("lm-slices")
    wikitext = root / "wikitext-2"
    wikitext.mkdir()
    for split in ("train", "validation", "test"):
        table = pq.read_table(SHARED_DATA / "wikitext-2" / f"{split}.parquet")
        pq.write_table(table.slice(0, TRAIN_LINES if split == "train" else 200), wikitext / f"{split}.parquet")
    shakespeare = root / "input.txt"
    lines = (SHARED_DATA / "tiny_shakespeare" / "input.txt").read_text(encoding="utf-8").splitlines(keepends=True)
    shakespeare.write_text("".join(lines[:TRAIN_LINES]), encoding="utf-8")
    return {"../shared/data/wikitext-2": wikitext, "../shared/data/tiny_shakespeare/input.txt": shakespeare}


def build(config: Path, *args: str) -> SeqlitCLI:
    return SeqlitCLI(SeqTask, SeqDataModule, subclass_mode_model=True, subclass_mode_data=True,
                     save_config_callback=None, trainer_defaults=TRAINER_DEFAULTS, run=False,
                     args=["--config", str(config), *args])


@needs_shared_data
@pytest.mark.parametrize("config", CONFIGS, ids=lambda p: p.stem)
def test_config_builds_and_trains_a_step(config, slices, tmp_path, monkeypatch):
    monkeypatch.chdir(REPO)  # the configs' data paths are relative to the repository root
    monkeypatch.setattr(sys, "argv", sys.argv[:1])  # LightningCLI reads pytest's own arguments otherwise
    path = yaml.safe_load(config.read_text(encoding="utf-8"))["data"]["init_args"]["path"]
    assert (REPO / path).exists() and path in slices, f"{config.name}: data path {path!r}"

    cli = build(config, "--data.init_args.path", str(slices[path]), "--trainer.fast_dev_run", "true",
                "--trainer.logger", "false", "--trainer.default_root_dir", str(tmp_path),
                "--trainer.enable_progress_bar", "false", "--trainer.enable_model_summary", "false",
                "--data.init_args.batch_size", "4", "--data.init_args.eval_batch_size", "4",
                "--data.init_args.bptt", "8", "--trainer.callbacks.init_args.max_tokens", "5")
    model, data = cli.model, cli.datamodule
    assert isinstance(model, LanguageModel)
    assert model.backbone.kind == next(k for k in ("rnn", "gru", "lstm") if k in config.stem.split("_"))
    assert data.level == ("char" if "char" in config.stem else "word")
    assert any(isinstance(c, SampleText) for c in cli.trainer.callbacks)
    cli.trainer.fit(model, datamodule=data)  # one training and one validation batch, then a 5-token sample
    assert cli.trainer.state.finished and cli.trainer.global_step == 1
