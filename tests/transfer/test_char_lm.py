"""Flair-style contextual string features: each word's state in a forward and a backward character LM is the state
the LM reaches over exactly the text it should have read; frozen LMs stay frozen; a tagger trains with them and
predicts after the LM files are gone."""

from __future__ import annotations

import glob
import json
import shutil
from pathlib import Path

import pytest
import torch

from data_modules import LanguageModelingData
from seqlit.io.checkpoints import load_checkpoint
from seqlit.errors import SeqlitError
from data_modules import SentimentData
from seqlit.tasks import Classifier, LanguageModel, Tagger
from seqlit.transfer.char_lm import END, SEPARATOR, START, CharLMFeatures, read_spec, resolve
from seqlit.vocab import Vocab
from tests.conftest import REPO, run_seqlit, with_backbone
from seqlit.transfer.pretrained import freeze
from tests.sentiment.corpus import make_sst_dir
from tests.tagging.tagging_corpus import make_conll_dir
from tests.transfer.models import classifier

CHARS = ["<pad>", "<unk>", "\n", " ", *"abcdefghijklmnopqrstuvwxyzJMPS."]
QUIET = ["--trainer.logger", "false", "--trainer.enable_progress_bar", "false", "--trainer.enable_model_summary", "false",
         "--trainer.max_time", "null", "--test_after_fit", "false", "--num_threads", "1", "--trainer.callbacks", "[]"]


def lm_checkpoint(path: Path, direction: str, level: str = "char", seed: int = 0) -> Path:
    """A checkpoint laid out as `seqlit fit` writes one for a (random) 1-layer LSTM character LM."""
    torch.manual_seed(seed)
    spec = {"vocab_size": len(CHARS), "pad_id": 0, "level": level}
    lm = LanguageModel(spec, **with_backbone(LanguageModel, kind="lstm", hidden_size=6, num_layers=1), embedding_dim=5)
    torch.save({"state_dict": lm.state_dict(),
                "hyper_parameters": {"_class_path": "seqlit.tasks.LanguageModel", **lm.hparams},
                "LanguageModelingData": {"vocab_format": 1, "vocab": {"level": level, "direction": direction,
                                                                      "tokens": Vocab(CHARS).to_state()}}}, path)
    return path


@pytest.fixture
def specs(tmp_path) -> list[dict]:
    return resolve([lm_checkpoint(tmp_path / "fwd.ckpt", "forward"), lm_checkpoint(tmp_path / "bwd.ckpt", "backward", seed=1)])


def final_state(lm, text: str) -> torch.Tensor:
    """The LM's output after reading `text` from its first character to its last."""
    ids = torch.tensor([[lm.index.get(c, lm.unk_id) for c in text]])
    out, _ = lm.backbone(lm.embedding(ids))
    return out[0, -1]


def test_each_word_gets_the_state_after_the_text_each_direction_has_read(specs):
    features = CharLMFeatures(specs, tune=False)
    features.load_weights(specs)
    sentences = [["Maria", "sees", "Paris", "."], ["John", "works"]]
    got = features(sentences, width=5)
    assert got.shape == (2, 5, 12)
    forward, backward = features.lms
    for b, words in enumerate(sentences):
        text = START + SEPARATOR.join(words) + END
        at = len(START)
        for t, word in enumerate(words):
            # forward: everything up to and including the word's last character
            assert torch.allclose(got[b, t, :6], final_state(forward, text[: at + len(word)]), atol=1e-6)
            # backward: from the sentence's end back to the word's first character
            assert torch.allclose(got[b, t, 6:], final_state(backward, text[at:][::-1]), atol=1e-6)
            at += len(word) + len(SEPARATOR)
        assert got[b, len(words):].abs().sum() == 0  # past the sentence: zeros


def test_weights_come_from_the_checkpoints(specs):
    features = CharLMFeatures(specs, tune=False)
    features.load_weights(specs)
    stored = load_checkpoint(specs[1]["path"])["state_dict"]
    assert torch.equal(features.lms[1].embedding.weight, stored["embedding.weight"])
    assert torch.equal(features.lms[1].backbone.rnn.weight_hh_l0, stored["backbone.rnn.weight_hh_l0"])


def test_frozen_lms_stay_in_eval_mode_and_take_no_gradient(specs):
    frozen = CharLMFeatures(specs, tune=False).train()
    assert not frozen.lms[0].training and not any(p.requires_grad for p in frozen.parameters())
    assert not frozen([["Maria"]], 1).requires_grad
    tuned = CharLMFeatures(specs, tune=True).train()
    assert tuned.lms[0].training
    tuned([["Maria"]], 1).sum().backward()
    assert tuned.lms[0].embedding.weight.grad is not None


def test_bad_lms_are_one_line(tmp_path):
    with pytest.raises(SeqlitError, match="not a character-level seqlit language model .* --data.init_args.level char"):
        read_spec(lm_checkpoint(tmp_path / "word.ckpt", "forward", level="word"))
    with pytest.raises(SeqlitError, match="two forward LMs"):
        resolve([lm_checkpoint(tmp_path / "a.ckpt", "forward"), lm_checkpoint(tmp_path / "b.ckpt", "forward")])
    with pytest.raises(SeqlitError, match="does not exist"):
        read_spec(tmp_path / "missing.ckpt")
    spec = {"vocab_size": 3, "pad_id": 0, "unk_id": 1, "label_names": ["neg", "pos"]}
    for tokenizer, message in (("bpe", "data.tokenizer bpe hands the model subword pieces: set --data.init_args.tokenizer word"),
                               (None, "this data module hands the model no words")):
        with pytest.raises(SeqlitError, match=message):
            Classifier({**spec, "tokenizer": tokenizer}, pretrained={"char_lms": [str(tmp_path / "a.ckpt")]},
                       **with_backbone(Classifier, hidden_size=4))
    task = classifier(["<pad>", "<unk>", "the"])
    task.pretrained["char_lms"] = [str(tmp_path / "a.ckpt")]
    with pytest.raises(SeqlitError, match="takes no contextual string features"):
        freeze(task)  # a task that never built the features


def test_a_backward_lm_reads_each_split_reversed(tiny_corpus):
    streams = {}
    for direction in ("forward", "backward"):
        dm = LanguageModelingData(path=str(tiny_corpus), level="char", direction=direction, seed=0)
        streams[direction] = dm.encoded("train")
        assert dm.vocab_state().get("direction", "forward") == direction
    assert (streams["backward"] == streams["forward"][::-1]).all()  # id arrays (numpy), the backward one a reversed view


@pytest.fixture(scope="module")
def trained_lms(tmp_path_factory) -> list[Path]:
    """A forward and a backward character LM, 3 steps each through `seqlit fit`."""
    root = tmp_path_factory.mktemp("char-lms")
    corpus = root / "chars.txt"
    corpus.write_text("\n".join(["maria sees paris .", "john works for siemens in new york .",
                                 "peter lives in berlin .", "the film is great .", "the cast is dull ."] * 40) + "\n",
                      encoding="utf-8")
    lms = []
    for direction in ("forward", "backward"):
        run_seqlit("fit", "--config", str(REPO / "configs" / "quickstart.yaml"), "--data.init_args.path", str(corpus),
                   "--data.init_args.level", "char", "--data.init_args.direction", direction,
                   "--data.init_args.batch_size", "4", "--data.init_args.bptt", "16",
                   "--model.init_args.embedding_dim", "8", "--model.init_args.backbone.hidden_size", "12",
                   "--model.init_args.backbone.num_layers", "1", "--trainer.max_steps", "3",
                   "--trainer.default_root_dir", str(root / direction), *QUIET, cwd=root)
        lms.append(Path(sorted(glob.glob(str(root / direction / "**" / "last.ckpt"), recursive=True))[0]))
    return lms


def copies(lms: list[Path], folder: Path) -> list[str]:
    """The LMs copied into `folder`, which a test may delete."""
    folder.mkdir(parents=True, exist_ok=True)
    out = []
    for lm, name in zip(lms, ("fwd.ckpt", "bwd.ckpt")):
        shutil.copyfile(lm, folder / name)
        out.append(str(folder / name))
    return out


def test_the_tagger_trains_with_both_lms_then_predicts_without_their_files(trained_lms, tmp_path):
    lms = copies(trained_lms, tmp_path / "lms")
    conll = make_conll_dir(tmp_path / "ner")
    proc = run_seqlit("fit", "--config", str(REPO / "configs" / "tagging" / "conll2003_bilstm_crf.yaml"),
                      "--data.init_args.path", str(conll), "--model.init_args.backbone.hidden_size", "8",
                      "--model.init_args.embedding_dim", "8", "--model.init_args.char_features", "8",
                      "--model.init_args.pretrained", json.dumps({"char_lms": lms}),
                      "--trainer.max_steps", "3", "--trainer.limit_val_batches", "1",
                      "--trainer.default_root_dir", str(tmp_path / "tagger"), *QUIET, cwd=tmp_path)
    log = proc.stdout + proc.stderr
    assert "[seqlit] pretrained char LM forward" in log and "[seqlit] pretrained char LM backward" in log
    last = sorted(glob.glob(str(tmp_path / "tagger" / "**" / "last.ckpt"), recursive=True))[0]
    ckpt = load_checkpoint(last)
    stored = load_checkpoint(lms[0])["state_dict"]
    # frozen: after training, the forward LM's weights in the tagger are still the LM's own
    assert torch.equal(ckpt["state_dict"]["char_lms.lms.0.backbone.rnn.weight_hh_l0"], stored["backbone.rnn.weight_hh_l0"])
    assert ckpt["state_dict"]["backbone.rnn.weight_ih_l0"].shape[1] == 8 + 10 + 8 + 2 * 12  # words, casing, chars, LMs

    for path in lms:
        Path(path).unlink()
    raw = tmp_path / "raw.txt"
    raw.write_text("Maria works for Siemens in Hong Kong.\n", encoding="utf-8")
    run_seqlit("predict", "--ckpt_path", last, "--data.init_args.predict_file", str(raw),
               "--predict_output", "out.jsonl", "--trainer.logger", "false", cwd=tmp_path)
    records = [json.loads(line) for line in (tmp_path / "out.jsonl").read_text(encoding="utf-8").splitlines()]
    assert len(records) == 1 and len(records[0]["tags"]) == len(records[0]["tokens"])
    assert Tagger.load_from_checkpoint(last).char_lms.output_size == 24  # the Python API rebuilds them too


def test_sentiment_batches_carry_the_words_the_vocabulary_reads(tmp_path):
    data = make_sst_dir(tmp_path / "sst", n_train=16)
    batch = next(iter(SentimentData(path=str(data), batch_size=4, lowercase=True).train_dataloader()))
    assert [len(words) for words in batch["tokens"]] == batch["lengths"].tolist()
    assert all(w == w.lower() for words in batch["tokens"] for w in words)
    bpe = SentimentData(path=str(data), batch_size=4, tokenizer="bpe", subword_vocab_size=120)
    assert "tokens" not in next(iter(bpe.train_dataloader())) and bpe.data_spec["tokenizer"] == "bpe"


def test_the_classifier_trains_with_both_lms_then_predicts_without_their_files(trained_lms, tmp_path):
    lms = copies(trained_lms, tmp_path / "lms")
    data = make_sst_dir(tmp_path / "sst", n_train=32)
    proc = run_seqlit("fit", "--config", str(REPO / "configs" / "sentiment" / "sst2_bilstm.yaml"),
                      "--data.init_args.path", str(data), "--data.init_args.batch_size", "8",
                      "--model.init_args.backbone.hidden_size", "8", "--model.init_args.embedding_dim", "8",
                      "--model.init_args.ensemble", "2", "--model.init_args.pretrained", json.dumps({"char_lms": lms}),
                      "--trainer.max_steps", "3", "--trainer.limit_val_batches", "1",
                      "--trainer.default_root_dir", str(tmp_path / "classifier"), *QUIET, cwd=tmp_path)
    log = proc.stdout + proc.stderr
    assert "[seqlit] pretrained char LM forward" in log and "[seqlit] pretrained char LM backward" in log
    last = sorted(glob.glob(str(tmp_path / "classifier" / "**" / "last.ckpt"), recursive=True))[0]
    state = load_checkpoint(last)["state_dict"]
    stored = load_checkpoint(lms[1])["state_dict"]
    assert torch.equal(state["char_lms.lms.1.backbone.rnn.weight_hh_l0"], stored["backbone.rnn.weight_hh_l0"])  # frozen
    for member in (0, 1):  # one set of LMs, read by every reader of the ensemble
        assert state[f"readers.{member}.backbone.rnn.weight_ih_l0"].shape[1] == 8 + 2 * 12  # words, both LMs

    for path in lms:
        Path(path).unlink()
    raw = tmp_path / "raw.txt"
    raw.write_text("What a great film!\nIt is dull.\n", encoding="utf-8")
    run_seqlit("predict", "--ckpt_path", last, "--data.init_args.predict_file", str(raw), "--data.init_args.path",
               "no/longer/there", "--predict_output", "out.jsonl", "--trainer.logger", "false", cwd=tmp_path)
    records = [json.loads(line) for line in (tmp_path / "out.jsonl").read_text(encoding="utf-8").splitlines()]
    assert [r["text"] for r in records] == ["What a great film!", "It is dull."]
    assert Classifier.load_from_checkpoint(last).char_lms.output_size == 24  # the Python API rebuilds them too
