"""The path every data module shares (data_modules/base.py): seeds, ranks, predict files, carving, nothing to predict."""

from __future__ import annotations

import inspect
from types import SimpleNamespace

import pytest

from data_modules import DatesData, LanguageModelingData, SentimentData, TaggingData, TranslationData
from data_modules.synthetic import AgreementData
from seqlit.errors import SeqlitError
from tests.sentiment.corpus import make_sst_dir
from tests.translation.corpus import write_corpus

MODULES = [AgreementData, DatesData, LanguageModelingData, SentimentData, TaggingData, TranslationData]


@pytest.mark.parametrize("cls", MODULES, ids=lambda c: c.__name__)
def test_one_seed_default_the_runs_seed_recorded_in_the_hyperparameters(cls, monkeypatch):
    assert inspect.signature(cls).parameters["seed"].default is None
    monkeypatch.setenv("PL_GLOBAL_SEED", "7")
    dm = cls()
    assert dm.hparams.seed is None and dm.seed == 7 and dm.hparams.seed == 7  # so a checkpoint keeps it
    assert cls(seed=3).seed == 3


def test_generated_data_follows_the_recorded_seed(monkeypatch):
    monkeypatch.setenv("PL_GLOBAL_SEED", "5")
    first = DatesData(train_size=50)
    pairs = first.pairs("train")
    monkeypatch.setenv("PL_GLOBAL_SEED", "6")  # a later `test --ckpt_path` run with another seed
    assert DatesData(**{k: v for k, v in first.hparams.items() if not k.startswith("_")}).pairs("train") == pairs


def test_penn_treebank_folder_trains_a_language_model_as_it_ships(tmp_path):
    for split, n in (("train", 40), ("valid", 8), ("test", 8)):
        (tmp_path / f"ptb.{split}.txt").write_text("".join(f" the cat {i % 5} sat \n" for i in range(n)), encoding="utf-8")
    dm = LanguageModelingData(path=str(tmp_path), batch_size=2, eval_batch_size=2, bptt=4)
    assert {s: len(dm.split(s)) for s in ("train", "validation", "test")} == {"train": 40, "validation": 8, "test": 8}
    assert dm.encoded("validation").size == 8 * 5  # four words and <eos> per line
    assert next(iter(dm.train_dataloader()))["input_ids"].shape == (2, 4)


@pytest.mark.parametrize("make", [
    lambda d: SentimentData(path=str(make_sst_dir(d / "sst")), eval_batch_size=7),
    lambda d: TranslationData(path=str(write_corpus(d / "mt")), min_freq=1, eval_batch_size=3),
], ids=["sentiment", "translation"])
def test_ranks_share_evaluation_examples_without_duplicates(tmp_path, make):
    seen, sizes = [], set()
    for rank in (0, 1, 2):
        dm = make(tmp_path / str(rank))
        dm.trainer = SimpleNamespace(world_size=3, global_rank=rank)
        loader = dm.val_dataloader()
        sizes.add(len(loader.dataset))
        seen += [i for batch in loader.batch_sampler for i in batch]
    assert len(sizes) == 1 and sorted(seen) == list(range(sizes.pop()))


def test_predict_files_read_the_same_way_in_every_task(tmp_path):
    """Text lines or JSON lines, blank lines skipped, 0-based line numbers kept; bad lines name file and line."""
    dm = TranslationData(path=str(write_corpus(tmp_path / "mt")), min_freq=1)
    lines = tmp_path / "in.jsonl"
    lines.write_text('{"de": "Der Hund sieht den Ball."}\n\n{"text": "Die Katze."}\n', encoding="utf-8")
    dm.predict_file = str(lines)
    dm.check("predict")  # read and checked whole; `predict` streams it (data_modules/predict_stream.py)
    encoded = dm.encode_lines(dm.predict_lines())
    assert encoded["index"] == [0, 2] and encoded["source"] == ["Der Hund sieht den Ball.", "Die Katze."]
    for content, message in [("{not json\n", r"in.jsonl:1: not valid JSON"), ('["a"]\n', r"in.jsonl:1: not a JSON object"),
                             ('{"en": "x"}\n', r"in.jsonl:1: each line needs a 'de' or 'text' string"),
                             ("\n  \n", r"holds no sentences: write one sentence per line")]:
        lines.write_text(content, encoding="utf-8")
        with pytest.raises(SeqlitError, match=message):
            dm.predict_lines() if "holds" in message else dm.encode_lines(dm.predict_lines())
    dm.predict_file = str(tmp_path / "none.txt")
    with pytest.raises(SeqlitError, match=r"data.predict_file '.*none.txt' does not exist"):
        dm.predict_lines()


@pytest.mark.parametrize("dm, hint", [
    (LanguageModelingData(), "python -m seqlit generate"),
    (TaggingData(), "--data.init_args.predict_file"),
    (AgreementData(), "score them with `test`"),
], ids=["lm", "tagging", "agreement"])
def test_nothing_to_predict_is_one_line(dm, hint, monkeypatch):
    monkeypatch.setattr(dm, "ensure_vocab", lambda: None)
    with pytest.raises(SeqlitError, match=rf"has nothing to predict: .*{hint}"):
        dm.check("predict")
