"""LanguageModelingData's character cuts (`split_by: nanogpt` / `nanogpt_halves`): exact boundaries, as nanoGPT cuts."""

from __future__ import annotations

from pathlib import Path

import datasets
import pytest

from data_modules import LanguageModelingData
from seqlit.errors import SeqlitError

SHAKESPEARE = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "tiny_shakespeare" / "input.txt"
# 10 lines of 11 characters, newline included, then one without: 90% of 115 falls inside line 10
TEXT = "".join(f"line {i:04d}.\n" for i in range(10)) + "last line"


def decoded(dm: LanguageModelingData, stage: str) -> str:
    return "".join(dm.vocab.tokens[i] for i in dm.encoded(stage).tolist())


@pytest.fixture
def corpus(tmp_path) -> Path:
    path = tmp_path / "input.txt"
    path.write_text(TEXT, encoding="utf-8")
    return path


def test_nanogpt_cut_is_character_exact_and_test_is_the_validation_text(corpus, caplog):
    n, cut = len(TEXT), int(len(TEXT) * 0.9)
    assert (n, cut) == (119, 107) and TEXT[cut - 1] != "\n"  # the cut falls mid-line
    dm = LanguageModelingData(path=str(corpus), level="char", split_by="nanogpt", batch_size=1, eval_batch_size=1)
    with caplog.at_level("INFO"):
        cuts = dm.char_cuts()
    assert cuts == {"train": TEXT[:cut], "validation": TEXT[cut:], "test": TEXT[cut:]}
    assert decoded(dm, "train") == TEXT[:cut]  # no newline added at the end of the file or at the cut
    assert dm.encoded("validation").size == dm.encoded("test").size == n - cut
    assert "train 107, validation 12, test 12 (test = validation: nanoGPT has no test split)" in caplog.text


def test_halves_cut_the_last_tenth_into_validation_and_test(corpus):
    cut = int(len(TEXT) * 0.9)
    half = cut + (len(TEXT) - cut) // 2
    cuts = LanguageModelingData(path=str(corpus), level="char", split_by="nanogpt_halves").char_cuts()
    assert cuts == {"train": TEXT[:cut], "validation": TEXT[cut:half], "test": TEXT[half:]}


def test_a_source_of_rows_is_its_lines_joined_by_newlines(tmp_path):
    folder = tmp_path / "rows"
    folder.mkdir()
    datasets.Dataset.from_dict({"text": ["ab\n", "", "cd"] * 10}).to_parquet(str(folder / "train.parquet"))
    cuts = LanguageModelingData(path=str(folder), level="char", split_by="nanogpt").char_cuts()
    text = "ab\n\ncd\n" * 10
    assert cuts["train"] == text[:63] and cuts["validation"] == text[63:]


def test_the_lines_split_is_unchanged(corpus):
    dm = LanguageModelingData(path=str(corpus), level="char", split_fractions=(0.8, 0.1, 0.1))
    assert {s: len(dm.split(s)) for s in ("train", "validation", "test")} == {"train": 8, "validation": 1, "test": 2}
    assert list(dm.text_batches("test")) == [["line 0009.", "last line"]]
    # each line ends in a newline, the file's last too; characters unseen in training are <unk>
    assert dm.encoded("test").tolist() == dm.vocab.encode("line 0009.\nlast line\n")


def test_char_cuts_errors(corpus, tmp_path):
    with pytest.raises(SeqlitError, match=r"data.split_by 'nanogpt' cuts the text between characters, which needs data.level char"):
        LanguageModelingData(path=str(corpus), level="word", split_by="nanogpt")
    for split in ("train", "valid", "test"):
        (tmp_path / f"ptb.{split}.txt").write_text("the cat sat\n" * 5, encoding="utf-8")
    with pytest.raises(SeqlitError, match=r"ships its own splits \(train, validation, test\), but data.split_by 'nanogpt_halves'"):
        LanguageModelingData(path=str(tmp_path), level="char", split_by="nanogpt_halves").data_spec


@pytest.mark.skipif(not SHAKESPEARE.is_file(), reason=f"shared Tiny Shakespeare not found at {SHAKESPEARE}")
def test_tiny_shakespeare_has_nanogpts_sizes():
    text = SHAKESPEARE.read_text(encoding="utf-8")
    cuts = LanguageModelingData(path=str(SHAKESPEARE), level="char", split_by="nanogpt").char_cuts()
    assert {s: len(c) for s, c in cuts.items()} == {"train": 1003854, "validation": 111540, "test": 111540}
    assert cuts["train"] + cuts["validation"] == text
    halves = LanguageModelingData(path=str(SHAKESPEARE), level="char", split_by="nanogpt_halves").char_cuts()
    assert {s: len(c) for s, c in halves.items()} == {"train": 1003854, "validation": 55770, "test": 55770}
