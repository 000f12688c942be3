"""`tokenizer: bpe`: subword pieces trained on the training split only, round trips, checkpoints, determinism."""

from __future__ import annotations

import glob
import json
import logging
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from data_modules.sentiment import SentimentData, tokenize
from data_modules.subword import SubwordVocab
from seqlit.errors import SeqlitError
from tests.conftest import REPO, run_seqlit
from tests.sentiment.corpus import make_sst_dir, sentences, write_split

CONFIG = REPO / "configs" / "sentiment" / "sst2_bigru.yaml"
QUIET = ["--trainer.logger", "false", "--trainer.enable_progress_bar", "false", "--trainer.enable_model_summary", "false"]
ONLY_IN_VALIDATION = "kazoo"  # its letters k and z appear nowhere in the training split


@pytest.fixture
def sst_dir(tmp_path: Path) -> Path:
    folder = make_sst_dir(tmp_path / "sst")
    texts, labels = sentences(40, offset=1000)
    write_split(folder / "validation.parquet", [f"{t} {ONLY_IN_VALIDATION}" for t in texts], labels)
    return folder


def bpe_data(path, **kwargs) -> SentimentData:
    return SentimentData(path=str(path), tokenizer="bpe", subword_vocab_size=kwargs.pop("subword_vocab_size", 120), **kwargs)


def test_trained_on_the_training_split_only(sst_dir):
    dm = bpe_data(sst_dir)
    dm.ensure_vocab()
    pieces = set(dm.vocab.tokenizer.get_vocab())
    assert dm.data_spec["vocab_size"] == len(dm.vocab) == len(pieces) <= 120
    assert dm.vocab.pad_id == dm.data_spec["pad_id"] == 0 and dm.vocab.unk_id == 1
    assert "▁wonderful" in pieces  # a frequent training word is one piece
    assert not any(c in piece for piece in pieces - {"<pad>", "<unk>"} for c in "kz")  # nothing of the validation-only word
    validation = dm.encoded("validation")
    kazoo = dm.vocab.encode([ONLY_IN_VALIDATION])
    assert dm.vocab.decode(kazoo).count("<unk>") >= 2  # k and z: characters never seen in training
    assert all(ids[-len(kazoo):] == kazoo for ids in validation["ids"][:])
    # trained on train + validation, the same settings would have learnt the word
    words = [tokenize(t) for t in dm.split("train")["sentence"][:] + dm.split("validation")["sentence"][:]]
    assert "▁kazoo" in SubwordVocab.train(words, vocab_size=120).tokenizer.get_vocab()


def test_unseen_words_are_spelt_with_known_pieces_and_decode_back(sst_dir):
    dm = bpe_data(sst_dir)
    dm.ensure_vocab()
    for words in [tokenize(t) for t in dm.split("train")["sentence"][:20]] + [["the", "unwonderful", "filmcast", "2"]]:
        ids = dm.vocab.encode(words)
        assert dm.vocab.unk_id not in ids
        assert dm.vocab.detokenize(ids) == " ".join(words)
        assert ids == dm.vocab.tokenizer.encode(words, is_pretokenized=True).ids  # the per-word cache is exact
        assert "".join(dm.vocab.decode(ids)).replace("▁", " ").strip() == " ".join(words)
    assert len(dm.vocab.encode(["unwonderful"])) > 1


def test_batches_lengths_and_truncation_count_pieces(sst_dir, caplog):
    dm = bpe_data(sst_dir, batch_size=8)
    train = dm.encoded("train")
    batch = next(iter(dm.train_dataloader()))
    lengths = batch["lengths"].tolist()
    assert batch["input_ids"].shape == (8, max(lengths))
    for row, n, i in zip(batch["input_ids"].tolist(), lengths, batch["index"].tolist()):
        assert row[:n] == train["ids"][:][train["index"][:].index(i)] and set(row[n:]) <= {dm.vocab.pad_id}
    longest = max(len(dm.vocab.encode(tokenize(t))) for t in dm.split("validation")["sentence"][:])
    short = bpe_data(sst_dir, max_length=longest - 1)
    with caplog.at_level(logging.INFO):
        cut = short.encoded("validation")
    assert max(map(len, cut["ids"][:])) == longest - 1 and short.truncated["validation"] >= 1
    assert f"were longer than data.max_length={longest - 1}" in caplog.text


def test_state_is_plain_data_and_round_trips(sst_dir, tmp_path):
    dm = bpe_data(sst_dir)
    state = dm.state_dict()
    assert isinstance(state["vocab"]["subword"]["tokenizer"], str)
    torch.save(state, tmp_path / "state.pt")
    state = torch.load(tmp_path / "state.pt", weights_only=True)
    fresh = SentimentData(path="never/read")  # tokenizer: word by default; the state says bpe
    fresh.load_state_dict(state)
    assert fresh.tokenizer == "bpe" and fresh.data_spec == dm.data_spec
    words = tokenize("A wonderful, unwonderful kazoo!")
    assert fresh.vocab.encode(words) == dm.vocab.encode(words)
    assert fresh.vocab_state() == dm.vocab_state()


def test_word_checkpoints_keep_their_layout(sst_dir):
    state = SentimentData(path=str(sst_dir)).state_dict()["vocab"]
    assert set(state) == {"tokens", "label_names", "lowercase"}


def test_training_is_deterministic(sst_dir):
    """Same words, same tokenizer, byte for byte, in this process and another (hash seeds differ)."""
    first, second = bpe_data(sst_dir), bpe_data(sst_dir)
    assert first.state_dict() == second.state_dict()  # what a resumed run compares
    words = [tokenize(t) for t in first.split("train")["sentence"][:]]
    here = SubwordVocab.train(words, vocab_size=150).tokenizer.to_str()
    # the module alone (data_modules/__init__ would import Lightning and datasets): quick on a busy machine
    script = ("import importlib.util, json, sys; "
              "spec = importlib.util.spec_from_file_location('subword', 'data_modules/subword.py'); "
              "m = importlib.util.module_from_spec(spec); spec.loader.exec_module(m); "
              "sys.stdout.write(m.SubwordVocab.train(json.load(sys.stdin), vocab_size=150).tokenizer.to_str())")
    there = subprocess.run([sys.executable, "-c", script], input=json.dumps(words), cwd=REPO,
                           capture_output=True, text=True, check=True, timeout=600).stdout
    assert here == there


def test_bad_tokenizer_name():
    with pytest.raises(SeqlitError, match="data.tokenizer must be 'word' or 'bpe'"):
        SentimentData(tokenizer="char")
    with pytest.raises(SeqlitError, match="data.subword_vocab_size must be a positive"):
        SentimentData(tokenizer="bpe", subword_vocab_size=0)


def test_fit_then_predict_raw_text_from_the_checkpoint_alone(sst_dir, tmp_path):
    run_seqlit("fit", "--config", str(CONFIG), "--data.init_args.path", str(sst_dir),
               "--data.init_args.tokenizer", "bpe", "--data.init_args.subword_vocab_size", "120",
               "--model.init_args.embedding_dim", "8", "--model.init_args.backbone.hidden_size", "8",
               "--data.init_args.batch_size", "16", "--trainer.max_steps", "2", "--trainer.val_check_interval", "2",
               "--trainer.max_time", "null", "--test_after_fit", "false", *QUIET, cwd=tmp_path)
    ckpts = glob.glob(str(tmp_path / "checkpoints" / "best-*.ckpt"))
    assert len(ckpts) == 1, ckpts
    stored = torch.load(ckpts[0], weights_only=True, map_location="cpu")
    assert stored["SentimentData"]["vocab"]["tokenizer"] == "bpe"
    assert stored["datamodule_hyper_parameters"]["tokenizer"] == "bpe"

    raw = tmp_path / "raw.txt"
    raw.write_text("What a wonderful, charming film!\n\nIt's dull, tedious and kazoo-shaped.\n", encoding="utf-8")
    run_seqlit("predict", "--ckpt_path", ckpts[0], "--data.init_args.predict_file", str(raw),
               "--data.init_args.path", "no/longer/there", "--predict_output", "out.jsonl", *QUIET, cwd=tmp_path)
    records = [json.loads(line) for line in (tmp_path / "out.jsonl").read_text(encoding="utf-8").splitlines()]
    assert [r["index"] for r in records] == [0, 1, 2]
    assert records.pop(1) == {"index": 1, "skipped": "blank line"}  # record k is line k
    for r in records:
        assert set(r["probs"]) == {"negative", "positive"} and abs(sum(r["probs"].values()) - 1) < 1e-4
