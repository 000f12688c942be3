"""TranslationData: every local format, WMT-style rows, vocabularies, raw-text input and the errors users meet."""

from __future__ import annotations

import pytest

from data_modules.translation import TranslationData
from seqlit.errors import SeqlitError
from tests.translation.corpus import pairs, write_corpus


@pytest.mark.parametrize("fmt", ["parquet", "tsv", "wmt", "text"])
def test_each_local_format_gives_the_same_pairs(tmp_path, fmt):
    dm = TranslationData(path=str(write_corpus(tmp_path / fmt, fmt)), min_freq=1, batch_size=8)
    assert dm.pairs("train") == pairs(160)
    assert dm.pairs("validation") == pairs(20, 3)
    spec = dm.data_spec
    assert spec["source_vocab_size"] == len(dm.source_vocab) and "hund" in dm.source_vocab and "dog" in dm.target_vocab
    assert dm.source_vocab.tokens[:4] == ["<pad>", "<unk>", "<bos>", "<eos>"] == dm.target_vocab.tokens[:4]


def test_batches_are_bucketed_by_source_length_and_framed_by_bos_eos(tmp_path):
    dm = TranslationData(path=str(write_corpus(tmp_path / "c")), min_freq=1, batch_size=8)
    spec = dm.data_spec
    batch = next(iter(dm.train_dataloader()))
    assert batch["source_ids"].shape[0] == 8 and batch["source_lengths"].max() == batch["source_ids"].shape[1]
    assert batch["target_in"][:, 0].eq(spec["bos_id"]).all()
    assert batch["target_out"].eq(spec["eos_id"]).sum(1).eq(1).all()
    assert batch["references"][0] == batch["references"][0].lower() and batch["references"][0].endswith(".")
    # the reference is the normalized target: tokenized, lower-cased and detokenized back
    assert dm.detokenize_target(dm.tokenize("The dog ( big ) sees , a t-shirt .")) == "the dog (big) sees, a t-shirt."


def test_vocabulary_caps_and_min_freq(tmp_path):
    folder = write_corpus(tmp_path / "c")
    capped = TranslationData(path=str(folder), min_freq=1, max_vocab=10)
    capped.ensure_vocab()
    assert len(capped.source_vocab) == len(capped.target_vocab) == 10
    rare = TranslationData(path=str(folder), min_freq=1000)
    rare.ensure_vocab()
    assert len(rare.source_vocab) == len(rare.target_vocab) == 4  # specials only: every word is <unk>


def test_long_training_pairs_are_skipped_but_evaluation_keeps_all(tmp_path):
    folder = write_corpus(tmp_path / "c")
    dm = TranslationData(path=str(folder), max_length=6)
    assert len(dm.encoded("train")) == 120  # "… looks for …" makes 7 English tokens: a quarter of the pairs
    assert len(dm.encoded("validation")) == 20
    with pytest.raises(SeqlitError, match="every training pair is longer than data.max_length=5"):
        TranslationData(path=str(folder), max_length=5).train_dataloader()


def test_predict_file_needs_only_the_vocabulary(tmp_path):
    dm = TranslationData(path=str(write_corpus(tmp_path / "c")), min_freq=1)
    dm.ensure_vocab()
    src = tmp_path / "src.txt"
    src.write_text("Der Hund sieht den Ball.\n\nEin Zebra sucht das Haus.\n", encoding="utf-8")
    dm.predict_file = str(src)
    batch = next(iter(dm.predict_dataloader()))
    assert batch["index"].tolist() == [0, 2] and "target_in" not in batch
    assert dm.source_vocab.unk_id in batch["source_ids"][1].tolist()  # "zebra" was never seen


def test_missing_columns_name_the_fix(tmp_path):
    folder = write_corpus(tmp_path / "c")
    with pytest.raises(SeqlitError, match="no columns 'fr' and 'en'.*source_key"):
        TranslationData(path=str(folder), source_key="fr").data_spec
    wmt = write_corpus(tmp_path / "w", "wmt")
    with pytest.raises(SeqlitError, match="'translation' rows hold de, en, not 'fr'"):
        TranslationData(path=str(wmt), source_key="fr").data_spec


def test_misaligned_or_unpaired_text_files(tmp_path):
    folder = write_corpus(tmp_path / "t", "text")
    lines = (folder / "train.en").read_text(encoding="utf-8").splitlines()
    (folder / "train.en").write_text("\n".join(lines[:-1]) + "\n", encoding="utf-8")
    with pytest.raises(SeqlitError, match="misaligned.*train.de has 160 lines but train.en has 159"):
        TranslationData(path=str(folder)).data_spec
    (folder / "train.en").unlink()
    with pytest.raises(SeqlitError, match="no aligned target file 'train.en'"):
        TranslationData(path=str(folder)).data_spec


def test_empty_and_missing_splits(tmp_path):
    folder = write_corpus(tmp_path / "t", "text")
    (folder / "val.de").write_text("\n\n", encoding="utf-8")
    (folder / "val.en").write_text("\n\n", encoding="utf-8")
    dm = TranslationData(path=str(folder))
    with pytest.raises(SeqlitError, match="'validation' split holds no sentence pairs"):
        dm.val_dataloader()
    with pytest.raises(SeqlitError, match="no 'dev' split.*val_split"):
        TranslationData(path=str(folder), val_split="dev").val_dataloader()


def test_bad_arguments_and_missing_paths(tmp_path):
    with pytest.raises(SeqlitError, match="both 'de'"):
        TranslationData(source_key="de", target_key="de")
    with pytest.raises(SeqlitError, match="max_vocab must exceed"):
        TranslationData(max_vocab=3)
    with pytest.raises(SeqlitError, match="does not exist"):
        TranslationData(path=str(tmp_path / "nowhere")).data_spec
    with pytest.raises(SeqlitError, match="hub is offline.*local files"):
        TranslationData(path="someone/not-cached-here").data_spec


def test_vocabulary_round_trips_through_a_checkpoint_state(tmp_path):
    dm = TranslationData(path=str(write_corpus(tmp_path / "c")), min_freq=1)
    state = dm.state_dict()
    fresh = TranslationData(path="no/longer/there")
    fresh.load_state_dict(state)
    assert fresh.data_spec == dm.data_spec and fresh.target_vocab.tokens == dm.target_vocab.tokens


def test_raw_multi30k_release_names_its_test_file_after_the_year(tmp_path):
    folder = write_corpus(tmp_path / "raw", "text")
    for lang in ("de", "en"):
        (folder / f"test.{lang}").rename(folder / f"test_2016_flickr.{lang}")
    dm = TranslationData(path=str(folder), test_split="test_2016_flickr")
    assert len(dm.test_dataloader().dataset) == 20 and len(dm.val_dataloader().dataset) == 20
