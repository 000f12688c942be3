"""ConditionalData: speaker turns, the held-out blocks, <unk> speakers, a label column as the condition, batches."""

from __future__ import annotations

import pytest
import torch

from data_modules import ConditionalData
from data_modules.conditional import IGNORE, block_split, speaker_turns
from seqlit.errors import SeqlitError
from seqlit.vocab import BOS, EOS, UNK
from tests.conditional.corpus import SPEECH, write_play
from tests.conftest import SHARED_DATA, needs_shared_data
from tests.sentiment.corpus import make_sst_dir, write_split


def test_speaker_turns_read_the_name_and_the_speech():
    text = "First Citizen:\nBefore we proceed,\nhear me.\n\nAll:\nSpeak, speak.\n\n\nMARIANA:\nBreak off.\n\nnot a turn\n"
    assert speaker_turns(text) == [("First Citizen", "Before we proceed,\nhear me."), ("All", "Speak, speak."),
                                   ("MARIANA", "Break off.")]


def test_block_split_holds_out_whole_blocks_and_loses_nothing():
    split = block_split(1000, 10)
    assert sorted(split["train"] + split["validation"] + split["test"]) == list(range(1000))
    assert split["validation"][:10] == list(range(180, 190)) and split["test"][:10] == list(range(190, 200))
    assert len(split["validation"]) == len(split["test"]) == 50


def speakers(tmp_path, **kwargs) -> ConditionalData:
    args = dict(path=str(write_play(tmp_path / "play.txt")), source="speakers", level="char", block_turns=10,
                min_turns=3, batch_size=4, eval_batch_size=4, seed=0)
    return ConditionalData(**(args | kwargs))


def test_rare_and_unseen_speakers_are_unk(tmp_path):
    dm = speakers(tmp_path)
    assert dm.data_spec["condition_fields"] == {"speaker": [UNK, "ROMEO", "JULIET"]}  # NURSE speaks twice in training
    train, test = dm.encoded("train"), dm.encoded("test")
    assert train["conditions"][3] == train["conditions"][5] == [0]  # the NURSE's turns
    assert test["conditions"][-1] == [0] and test["text"][-1] == "My lord."  # the PAGE never speaks in training
    assert {tuple(test["conditions"][i]) for i in range(len(test) - 1)} == {(1,), (2,)}


def test_speeches_are_characters_between_bos_and_eos(tmp_path):
    dm = speakers(tmp_path)
    examples = dm.encoded("validation")
    assert dm.vocab.decode(examples["ids"][1]) == [BOS, *SPEECH["JULIET"], EOS]  # newline inside the speech kept
    batch = dm.collate([examples[0], examples[1]])
    lengths = [len(SPEECH["ROMEO"]) + 1, len(SPEECH["JULIET"]) + 1]
    assert batch["lengths"].tolist() == lengths and batch["conditions"].tolist() == [[1], [2]]
    assert torch.equal(batch["input_ids"][1, 1:], batch["targets"][1, :-1])  # targets are the inputs shifted
    assert batch["targets"][0, lengths[0]:].eq(IGNORE).all() and batch["targets"][1, -1] == dm.vocab[EOS]


def test_max_length_keeps_the_first_tokens(tmp_path):
    dm = speakers(tmp_path, max_length=5)
    ids = dm.encoded("train")["ids"][0]
    assert dm.vocab.decode(ids) == [BOS, *SPEECH["ROMEO"][:5]]


def test_too_few_turns_for_the_split_is_one_line(tmp_path):
    with pytest.raises(SeqlitError, match="too few for 20 blocks of data.block_turns=50: lower it"):
        speakers(tmp_path, block_turns=50).data_spec


def test_label_column_is_the_condition_and_validation_is_carved_from_train(tmp_path):
    folder = make_sst_dir(tmp_path / "sst", n_train=200)
    dm = ConditionalData(path=str(folder), test_split="validation", val_fraction=0.1, batch_size=8, eval_batch_size=8, seed=0)
    assert dm.data_spec["condition_fields"] == {"label": ["negative", "positive"]}
    train, val, test = [dm.encoded(s) for s in ("train", "validation", "test")]
    assert (len(train), len(val), len(test)) == (180, 20, 40)  # test: the labelled validation file
    assert dm.vocab.decode(train["ids"][0])[:4] == [BOS, "the", "film", "0"] and train["conditions"][:2] == [[1], [0]]


def test_unlabelled_rows_are_left_out_and_an_unlabelled_test_split_is_one_line(tmp_path):
    folder = make_sst_dir(tmp_path / "sst", n_train=20)
    write_split(folder / "validation.parquet", ["good film .", "no label .", "bad film ."], [1, -1, 0])
    dm = ConditionalData(path=str(folder), batch_size=4, eval_batch_size=4, seed=0)
    assert dm.encoded("validation")["conditions"][:] == [[1], [0]]
    with pytest.raises(SeqlitError, match="the 'test' split has no labels"):
        dm.encoded("test")


def test_condition_names_travel_with_the_checkpoint_state(tmp_path):
    dm = speakers(tmp_path)
    state = dm.state_dict()
    other = speakers(tmp_path, min_turns=1)  # would count the NURSE in: the checkpoint's names win
    other.load_state_dict(state)
    assert other.condition_fields == {"speaker": [UNK, "ROMEO", "JULIET"]} and other.condition_ids("ROMEO") == [1]
    with pytest.raises(SeqlitError, match="unknown condition 'TYBALT': the model knows '<unk>', 'ROMEO', 'JULIET'"):
        other.condition_ids("TYBALT")


@needs_shared_data
def test_tiny_shakespeare_speakers():
    dm = ConditionalData(path=str(SHARED_DATA / "tiny_shakespeare" / "input.txt"), source="speakers", level="char",
                         lowercase=False, batch_size=8, eval_batch_size=8, seed=0)
    names = dm.data_spec["condition_fields"]["speaker"]
    assert names[:3] == [UNK, "GLOUCESTER", "DUKE VINCENTIO"] and len(names) == 93
    sizes = {s: len(dm.encoded(s)) for s in ("train", "validation", "test")}
    # 7,222 blank-line blocks, 125 of them a speaker line with no speech
    assert sizes == {"train": 6397, "validation": 350, "test": 350}
