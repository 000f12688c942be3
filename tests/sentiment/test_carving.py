"""A validation split carved from training phrases (data_modules/carving.py, `SentimentData(carve_validation=…)`):
whole sentences only, stratified, seeded, and no training row a phrase of a carved sentence."""

from __future__ import annotations

import logging
import sys
import time
from collections import Counter
from pathlib import Path

import pytest

from data_modules.base import SeqDataModule
from data_modules.carving import carve, stratified_quota, whole_sentences
from data_modules.sentiment import SentimentData, tokenize
from seqlit.cli.trainer import TRAINER_DEFAULTS, SeqlitCLI
from seqlit.errors import SeqlitError
from seqlit.tasks.base import SeqTask
from tests.sentiment.corpus import write_split

SHARED_SST2 = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "sst2"
WORDS = ["great", "dull", "charming", "awful", "moving", "bland", "funny", "tedious"]


def treebank(n: int = 30) -> tuple[list[str], list[int], set[str]]:
    """SST-2-like rows: `n` sentences (2 in 3 positive), each followed by three of its phrases and a shared one."""
    texts, labels, sentences = [], [], set()
    for i in range(n):
        positive = i % 3 != 2
        sentence = f"film {i} is {WORDS[i % 8]} and cast {i} is {'good' if positive else 'bad'} ."
        sentences.add(sentence)
        texts += [sentence, f"film {i}", f"{WORDS[i % 8]} and cast {i}", f"is {'good' if positive else 'bad'}", "goodness"]
        labels += [int(positive)] * 4 + [1]
    return texts, labels, sentences


def is_phrase(row: list[str], sentence: list[str]) -> bool:
    return f" {' '.join(row)} " in f" {' '.join(sentence)} "


def test_whole_sentences_are_rows_that_no_other_row_contains():
    rows = [s.split() for s in ["good", "goodness", "a good film", "good film", "a good film", "", "film"]]
    assert whole_sentences(rows) == [1, 2, 4]  # "good" is a word of "a good film", not a piece of "goodness"


def test_stratified_quota_keeps_the_shares_and_the_size():
    assert stratified_quota({0: 10, 1: 20}, 6) == {0: 2, 1: 4}
    assert stratified_quota({0: 1, 1: 1, 2: 1}, 2) == {0: 1, 1: 1, 2: 0}  # ties: by label
    assert sum(stratified_quota({0: 428, 1: 444}, 100).values()) == 100


def test_carve_whole_sentences_stratified_without_leakage():
    texts, labels, sentences = treebank()
    tokens = [t.split() for t in texts]
    carved, kept, candidates = carve(tokens, labels, 6, seed=0)
    assert candidates == 31  # the 30 sentences and "goodness"
    assert all(texts[i] in sentences or texts[i] == "goodness" for i in carved)
    assert Counter(labels[i] for i in carved) == {1: 4, 0: 2}  # 2 in 3 positive
    assert not set(carved) & set(kept)
    for i in kept:  # no training row is a phrase of a carved sentence ...
        assert not any(is_phrase(tokens[i], tokens[c]) for c in carved), texts[i]
    dropped = set(range(len(texts))) - set(kept)
    for i in dropped:  # ... and only such rows left train
        assert any(is_phrase(tokens[i], tokens[c]) for c in carved), texts[i]
    assert len(dropped) >= 6 * 4 - ("goodness" in {texts[i] for i in carved})


def test_carving_is_fixed_by_its_seed():
    texts, labels, _ = treebank()
    tokens = [t.split() for t in texts]
    assert carve(tokens, labels, 6, seed=0) == carve(tokens, labels, 6, seed=0)
    assert carve(tokens, labels, 6, seed=0)[0] != carve(tokens, labels, 6, seed=1)[0]
    with pytest.raises(ValueError, match="only 31 labelled whole sentences to carve 40 from"):
        carve(tokens, labels, 40, seed=0)


def test_sentiment_data_validates_on_the_carved_split(tmp_path, caplog):
    folder = tmp_path / "sst"
    folder.mkdir()
    texts, labels, sentences = treebank()
    write_split(folder / "train.parquet", texts, labels)
    write_split(folder / "validation.parquet", sorted(sentences)[:5], [1] * 5)
    dm = SentimentData(path=str(folder), carve_validation=6, val_split="carved", test_split="validation", batch_size=4)
    with caplog.at_level(logging.INFO):
        dm.data_spec
    carved = dm.rows("carved")["sentence"]
    assert len(carved) == len(dm.encoded("validation")) == 6 and len(dm.encoded("test")) == 5
    train = dm.rows("train")["sentence"]
    assert not any(is_phrase(tokenize(t), tokenize(c)) for t in train for c in carved)
    assert "6 of its 31 whole sentences (carve_seed 0; by label {0: 2, 1: 4})" in caplog.text
    with pytest.raises(SeqlitError, match=r"data.carve_validation carves the validation split 'carved' from train, "
                                          r"but data.val_split is 'validation': set --data.init_args.val_split carved"):
        SentimentData(path=str(folder), carve_validation=6)
    with pytest.raises(SeqlitError, match=r"data.carve_validation=40: only 31 labelled whole sentences to carve 40 from"):
        SentimentData(path=str(folder), carve_validation=40, val_split="carved").data_spec


@pytest.mark.skipif(not SHARED_SST2.is_dir(), reason=f"shared SST-2 copy {SHARED_SST2} is absent")
def test_shared_sst2_carved_validation():
    """GLUE dev's size, carved from 6,882 whole training sentences; no training row is a phrase of one (checked
    by plain substring search, not the span sets the carving uses); GLUE dev is left as it is."""
    start = time.monotonic()
    dm = SentimentData(path=str(SHARED_SST2), carve_validation=872, val_split="carved", test_split="validation")
    splits = dm.splits()
    took = time.monotonic() - start
    assert {s: len(splits[s]) for s in ("train", "carved", "validation")} == {"train": 57433, "carved": 872, "validation": 872}
    assert Counter(splits["carved"]["label"]) == {0: 416, 1: 456}  # the whole sentences' 47.8% negative
    # SST-2 is tokenized already: a run of its words is a run of seqlit's tokens too, so this finds every leak
    carved = "\n".join(f" {t.strip()} " for t in splits["carved"]["sentence"])
    assert not [t for t in splits["train"]["sentence"] if f" {t.strip()} " in carved]
    assert splits["validation"]["sentence"][:1] == ["it 's a charming and often affecting journey . "]
    assert took < 30, f"carving took {took:.1f} s"


def test_the_carved_config_selects_on_carved_and_tests_on_glue_dev(tmp_path, monkeypatch):
    """configs/sentiment/sst2_bilstm_carved.yaml parses, builds and trains a step (on a tiny treebank)."""
    folder = tmp_path / "sst"
    folder.mkdir()
    texts, labels, sentences = treebank()
    write_split(folder / "train.parquet", texts, labels)
    write_split(folder / "validation.parquet", sorted(sentences)[:5], [1] * 5)
    monkeypatch.setattr(sys, "argv", sys.argv[:1])  # LightningCLI reads pytest's own arguments otherwise
    config = Path(__file__).resolve().parents[2] / "configs" / "sentiment" / "sst2_bilstm_carved.yaml"
    cli = SeqlitCLI(SeqTask, SeqDataModule, subclass_mode_model=True, subclass_mode_data=True, save_config_callback=None,
                    trainer_defaults=TRAINER_DEFAULTS, run=False,
                    args=["--config", str(config), "--data.init_args.path", str(folder), "--data.init_args.carve_validation", "6",
                          "--trainer.fast_dev_run", "true", "--trainer.logger", "false", "--trainer.callbacks", "null",
                          "--trainer.default_root_dir", str(tmp_path), "--trainer.enable_progress_bar", "false"])
    data = cli.datamodule
    assert (data.val_split, data.test_split, data.carve_seed) == ("carved", "validation", 0)
    cli.trainer.fit(cli.model, datamodule=data)
    assert cli.trainer.state.finished and len(data.encoded("validation")) == 6
