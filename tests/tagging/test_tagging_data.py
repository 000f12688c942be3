"""TaggingData: reading CoNLL text and parquet, vocabularies, batches, raw text, and its errors."""

from __future__ import annotations

import json
import random
from types import SimpleNamespace

import datasets
import pytest

from data_modules.tagging import CASINGS, IGNORE, TaggingData, casing
from data_modules.tagging_files import predict_sentences, tokenize
from seqlit.errors import SeqlitError

from tagging_corpus import SHARED_DATA, sentence, write_conll

def read_predict_file(path: str) -> list[dict]:
    """The sentences `predict` tags from `path` (no vocabulary needed)."""
    return predict_sentences(TaggingData(predict_file=path).predict_lines(), path)


def pairs(dm, split):
    """A split's (token lists, tag-name lists), read out of its Arrow rows."""
    ds = dm.sentences()[split]
    return ds["tokens"][:], ds["tags"][:]


CONLL_TAGS = ["O", "B-PER", "I-PER", "B-ORG", "I-ORG", "B-LOC", "I-LOC", "B-MISC", "I-MISC"]


def test_conll_folder(conll_dir):
    dm = TaggingData(path=str(conll_dir), batch_size=8)
    tokens, tags = pairs(dm, "train")
    assert len(tokens) == 60 and all(len(a) == len(b) for a, b in zip(tokens, tags))
    assert "-DOCSTART-" not in {t for s in tokens for t in s}
    spec = dm.data_spec
    assert spec["label_names"][0] == "O" and set(spec["label_names"]) == {"O", "B-PER", "I-PER", "B-LOC", "I-LOC", "B-ORG", "I-ORG"}
    assert spec["pad_id"] == 0 and spec["unk_id"] == 1 and spec["num_casings"] == len(CASINGS)
    batch = next(iter(dm.train_dataloader()))
    b, t = batch["input_ids"].shape
    assert batch["chars"].shape[:2] == (b, t) and batch["casing"].shape == (b, t)
    for i, n in enumerate(batch["lengths"].tolist()):
        assert (batch["tags"][i, n:] == IGNORE).all() and (batch["tags"][i, :n] >= 0).all()
        assert (batch["input_ids"][i, n:] == 0).all() and (batch["input_ids"][i, :n] != 0).all()


def test_vocabulary_from_train_only_and_rare_words_last(tmp_path):
    folder = tmp_path / "d"
    folder.mkdir()
    train = [[("Alpha", "B-PER"), ("beta", "O")], [("alpha", "B-PER"), ("gamma", "O")]]
    write_conll(folder / "train.txt", train)
    write_conll(folder / "dev.txt", [[("Delta", "B-PER")]])
    write_conll(folder / "test.txt", [[("1997", "O")]])
    dm = TaggingData(path=str(folder))
    dm.ensure_vocab()
    assert dm.vocab.tokens == ["<pad>", "<unk>", "alpha", "beta", "gamma"]  # lower-cased, frequent first
    assert dm.rare_start == 3  # beta, gamma seen once
    example = dm.encoded("validation")[0]
    assert example["input_ids"] == [dm.vocab.unk_id]
    assert example["casing"] == [CASINGS.index("title")]  # the case survives lower-casing
    assert dm.word_key("1997") == "0000"


def test_casing_classes():
    names = {t: CASINGS[casing(t)] for t in ["word", "NATO", "Paris", "1996", "B2B", "McDonald", ",", "e-mail"]}
    assert names == {"word": "lower", "NATO": "upper", "Paris": "title", "1996": "digit", "B2B": "digit",
                     "McDonald": "other", ",": "other", "e-mail": "lower"}


@pytest.mark.skipif(not (SHARED_DATA / "conll2003").is_dir(), reason=f"shared CoNLL-2003 data not found at {SHARED_DATA / 'conll2003'}")
def test_shared_conll2003_parquet():
    dm = TaggingData(path=str(SHARED_DATA / "conll2003"))
    spec = dm.data_spec
    assert spec["label_names"] == CONLL_TAGS  # from the ClassLabel feature
    sizes = {s: len(pairs(dm, s)[0]) for s in ("train", "validation", "test")}
    assert sizes == {"train": 14041, "validation": 3250, "test": 3453}
    assert sum(len(e["input_ids"]) for e in dm.encoded("test")) == 46435
    first = pairs(dm, "train")[1][0]
    assert first == ["B-ORG", "O", "B-MISC", "O", "O", "O", "B-MISC", "O", "O"]  # EU rejects German call ...


def test_evaluation_batches_are_sharded_without_duplicates(conll_dir):
    seen = []
    for rank in (0, 1):
        dm = TaggingData(path=str(conll_dir), eval_batch_size=5)
        dm.trainer = SimpleNamespace(world_size=2, global_rank=rank)
        seen += [i for batch in dm.val_dataloader().batch_sampler for i in batch]
    assert sorted(seen) == list(range(12))


def test_max_length_truncates_training_only(tmp_path):
    long = [(f"w{i}", "O") for i in range(12)]
    for split in ("train", "validation", "test"):
        write_conll(tmp_path / f"{split}.conll", [long, long[:3]])
    dm = TaggingData(path=str(tmp_path), max_length=5)
    assert max(len(e["input_ids"]) for e in dm.encoded("train")) == 5
    assert max(len(e["input_ids"]) for e in dm.encoded("test")) == 12


def test_single_file_is_cut_into_splits(tmp_path):
    rng = random.Random(1)
    path = write_conll(tmp_path / "all.conll", [sentence(rng) for _ in range(20)])
    dm = TaggingData(path=str(path), split_fractions=(0.5, 0.25, 0.25))
    assert [len(pairs(dm, s)[0]) for s in ("train", "validation", "test")] == [10, 5, 5]


def test_tokenizer_keeps_offsets():
    text = "Germany's EU envoy, Mr. Werner  Zwingmann, didn't pay $3.5 in 1996-08-22 (U.S. time)."
    tokens, offsets = tokenize(text)
    assert all(text[a:b] == t for t, (a, b) in zip(tokens, offsets))
    assert tokens[:4] == ["Germany", "'s", "EU", "envoy"]
    assert {"did", "n't", "U.S.", "1996-08-22", "3.5", "Zwingmann"} <= set(tokens)


def test_predict_file_text_and_jsonl(tmp_path):
    text = tmp_path / "raw.txt"
    text.write_text("John lives in Paris.\n\n  \nAli works.\n", encoding="utf-8")
    examples = read_predict_file(str(text))
    assert [e["index"] for e in examples] == [0, 3]  # blank lines skipped, line numbers kept
    assert examples[0]["tokens"] == ["John", "lives", "in", "Paris", "."]

    lines = [{"text": "New  York is big"}, {"tokens": ["Hong", "Kong"]}, {"text": "A  B", "tokens": ["A", "B"]}]
    jsonl = tmp_path / "in.jsonl"
    jsonl.write_text("".join(json.dumps(r) + "\n" for r in lines), encoding="utf-8")
    a, b, c = read_predict_file(str(jsonl))
    assert a["offsets"][1] == (5, 9)
    assert b["text"] == "Hong Kong" and b["offsets"] == [(0, 4), (5, 9)]
    assert c["offsets"] == [(0, 1), (3, 4)]


def test_predict_without_training_data(conll_dir, tmp_path):
    dm = TaggingData(path=str(conll_dir))
    dm.ensure_vocab()
    state = dm.vocab_state()
    raw = tmp_path / "raw.txt"
    raw.write_text("Maria lives in Lagos .\n", encoding="utf-8")
    fresh = TaggingData(path=str(tmp_path / "nowhere"), predict_file=str(raw))
    fresh.load_vocab_state(state)
    fresh._vocab_ready = True
    batch = next(iter(fresh.predict_dataloader()))
    assert batch["tokens"] == [["Maria", "lives", "in", "Lagos", "."]] and batch["index"] == [0]
    assert "tags" not in batch


# -- errors ----------------------------------------------------------------------------------

def parquet_dir(tmp_path, rows: dict):
    for split in ("train", "validation", "test"):
        datasets.Dataset.from_dict(rows).to_parquet(str(tmp_path / f"{split}.parquet"))
    return str(tmp_path)


def test_missing_column_names_it(tmp_path):
    path = parquet_dir(tmp_path, {"tokens": [["a"]], "ner_tags": [["O"]]})
    with pytest.raises(SeqlitError, match=r"split 'train' has no column 'ner' \(columns: tokens, ner_tags\): set --data.init_args.tags_column"):
        TaggingData(path=path, tags_column="ner").data_spec


def test_tag_id_outside_label_set(tmp_path):
    path = parquet_dir(tmp_path, {"tokens": [["a", "b"]], "ner_tags": [[0, 7]]})
    with pytest.raises(SeqlitError, match=r"split 'train' sentence 0: ner_tags value 7 is outside the 2 tag names \(O, B-PER\)"):
        TaggingData(path=path, tag_names=["O", "B-PER"]).data_spec
    with pytest.raises(SeqlitError, match=r"integer ids without ClassLabel names: set --data.init_args.tag_names"):
        TaggingData(path=path).data_spec


def test_unknown_string_tag_in_evaluation_split(conll_dir):
    write_conll(conll_dir / "test.conll", [[("Rome", "B-CITY")]])
    dm = TaggingData(path=str(conll_dir))
    with pytest.raises(SeqlitError, match=r"split 'test' sentence 0: ner_tags value 'B-CITY' is not among the tag names"):
        dm.encoded("test")


def test_empty_sentence_and_empty_split(tmp_path):
    path = parquet_dir(tmp_path, {"tokens": [["a"], []], "ner_tags": [["O"], []]})
    with pytest.raises(SeqlitError, match=r"sentence 1 has no tokens"):
        TaggingData(path=path).data_spec
    folder = tmp_path / "c"
    folder.mkdir()
    write_conll(folder / "train.conll", [[("a", "O")]])
    write_conll(folder / "valid.conll", [[("a", "O")]])
    (folder / "test.conll").write_text("-DOCSTART- -X- O\n\n", encoding="utf-8")
    with pytest.raises(SeqlitError, match=r"the test split has no sentences"):
        TaggingData(path=str(folder)).data_spec


def test_token_tag_count_mismatch(tmp_path):
    path = parquet_dir(tmp_path, {"tokens": [["a", "b"]], "ner_tags": [["O"]]})
    with pytest.raises(SeqlitError, match=r"2 tokens but 1 ner_tags"):
        TaggingData(path=path).data_spec


def test_bad_conll_line(tmp_path):
    (tmp_path / "train.conll").write_text("lonely\n", encoding="utf-8")
    with pytest.raises(SeqlitError, match=r"train.conll:1: expected a token and a tag"):
        TaggingData(path=str(tmp_path / "train.conll")).data_spec


# -- IOB1 gold tags ----------------------------------------------------------------------------

IOB1 = [[("Paris", "I-LOC"), ("is", "O"), ("big", "O")],
        [("Olga", "I-PER"), ("Smith", "I-PER"), ("met", "O"), ("John", "I-PER"), ("Maria", "B-PER")],
        [("Reuters", "I-ORG"), ("in", "O"), ("Berlin", "I-LOC"), ("Siemens", "I-ORG")]]
IOB2 = [["B-LOC", "O", "O"], ["B-PER", "I-PER", "O", "B-PER", "B-PER"], ["B-ORG", "O", "B-LOC", "B-ORG"]]


def iob1_lines(caplog) -> list[str]:
    return [r.getMessage() for r in caplog.records if "IOB1 tags converted to IOB2" in r.getMessage()]


def test_iob1_conll_files_are_converted_with_one_info_line(conll_dir, caplog):
    """Only the I-X that open a span change (6 of IOB1's 8 I- tags; Maria, the second of two adjacent PERs, keeps her B-)."""
    write_conll(conll_dir / "valid.conll", IOB1)
    write_conll(conll_dir / "test.conll", IOB1[:1])
    dm = TaggingData(path=str(conll_dir))
    with caplog.at_level("INFO"):
        spec = dm.data_spec
    assert pairs(dm, "validation")[1] == IOB2 and pairs(dm, "test")[1] == IOB2[:1]
    assert [t for s in pairs(dm, "train")[1] for t in s if t.startswith("I-")]  # IOB2 train: I- kept
    lines = iob1_lines(caplog)
    assert len(lines) == 1, caplog.text
    assert "7 spans opened by I-X now open with B-X (validation 6, test 1)" in lines[0] and "keep_iob1 true" in lines[0]
    assert spec["keeps_iob1"] is False


def test_iob1_parquet_ids_are_converted(tmp_path, caplog):
    """Integer tags with ClassLabel names (the hub / ../shared/data form): converted through the names."""
    features = datasets.Features({"tokens": datasets.Sequence(datasets.Value("string")),
                                  "ner_tags": datasets.Sequence(datasets.ClassLabel(names=CONLL_TAGS))})
    rows = {"tokens": [[w for w, _ in s] for s in IOB1], "ner_tags": [[CONLL_TAGS.index(t) for _, t in s] for s in IOB1]}
    for split in ("train", "validation", "test"):
        datasets.Dataset.from_dict(rows, features=features).to_parquet(str(tmp_path / f"{split}.parquet"))
    dm = TaggingData(path=str(tmp_path))
    with caplog.at_level("INFO"):
        dm.data_spec
    assert all(pairs(dm, s)[1] == IOB2 for s in ("train", "validation", "test"))
    assert "18 spans opened by I-X now open with B-X (train 6, validation 6, test 6)" in iob1_lines(caplog)[0]
    tag_ids = dm.encoded("validation")[0]["tags"]
    assert tag_ids == [CONLL_TAGS.index(t) for t in IOB2[0]]


def test_keep_iob1_keeps_the_tags_and_says_so_in_the_spec(conll_dir, caplog):
    write_conll(conll_dir / "valid.conll", IOB1)
    dm = TaggingData(path=str(conll_dir), keep_iob1=True)
    with caplog.at_level("INFO"):
        spec = dm.data_spec
    assert pairs(dm, "validation")[1] == [[t for _, t in s] for s in IOB1]
    assert spec["keeps_iob1"] is True and not iob1_lines(caplog)


def test_iob1_conversion_needs_the_b_tags_among_the_names(tmp_path):
    path = parquet_dir(tmp_path, {"tokens": [["Paris", "is"]], "ner_tags": [[1, 0]]})
    with pytest.raises(SeqlitError, match=r"converting IOB1 tags to IOB2 gives B-LOC, not among the tag names \(O, I-LOC\): "
                                          r"add them to --data.init_args.tag_names, or keep the tags with --data.init_args.keep_iob1 true"):
        TaggingData(path=path, tag_names=["O", "I-LOC"]).data_spec
    assert pairs(TaggingData(path=path, tag_names=["O", "I-LOC"], keep_iob1=True), "train")[1] == [["I-LOC", "O"]]


def test_predict_file_errors(tmp_path):
    with pytest.raises(SeqlitError, match="does not exist"):
        read_predict_file(str(tmp_path / "none.txt"))
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"text": "ok"}\n{"words": []}\n', encoding="utf-8")
    with pytest.raises(SeqlitError, match=r"bad.jsonl:2: each line needs a \"text\" string or a \"tokens\" list"):
        read_predict_file(str(bad))
    mismatch = tmp_path / "m.jsonl"
    mismatch.write_text('{"text": "a b", "tokens": ["a", "c"]}\n', encoding="utf-8")
    with pytest.raises(SeqlitError, match=r"token 'c' is not in its"):
        read_predict_file(str(mismatch))


def test_predict_needs_a_file(conll_dir):
    dm = TaggingData(path=str(conll_dir))
    with pytest.raises(SeqlitError, match=r"--data.init_args.predict_file"):
        dm.predict_dataloader()


def test_vocab_state_round_trip(conll_dir):
    dm = TaggingData(path=str(conll_dir))
    state = dm.state_dict()
    other = TaggingData(path=str(conll_dir))
    other.load_state_dict(state)
    assert other.spec() == dm.spec()
    with pytest.raises(SeqlitError, match="lowercase"):
        TaggingData(path=str(conll_dir), lowercase=False).load_state_dict(state)
    assert other.encode(["Paris"])["input_ids"] == dm.encode(["Paris"])["input_ids"]
