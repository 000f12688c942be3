"""The bad input catalogue (docs/errors.md): every case ends in one line naming the culprit and the fix.

Each test runs the command line's entry point, `seqlit.cli.main.main` (what `python -m seqlit` runs),
inside the test process, so that twenty failing commands cost seconds, not twenty interpreter
start-ups; `test_process_exit_code_and_stderr` checks the same through a real `python -m seqlit`
process. For every case: exit code 2, standard error ends in exactly one line `seqlit: error: …`
naming the file / column / key / value and the fix, and no traceback (no exception escapes `main`). Where
the failure comes after the trainer exists, the test also checks that nothing was written
(no W&B run, config.yaml, checkpoint or predictions).

Config keys (misspelt, unknown, wrong type) are covered by tests/cli/test_bad_config.py.
"""

from __future__ import annotations

import io
import os
import shutil
import sys
from contextlib import redirect_stderr, redirect_stdout
from dataclasses import dataclass
from pathlib import Path

import datasets
import pytest
import torch

from data_modules.tagging import TaggingData
from seqlit.cli.main import main
from tests.conftest import REPO, run_seqlit
from tests.sentiment.corpus import make_sst_dir, write_split

CONFIGS = REPO / "configs"
QUICK = str(CONFIGS / "quickstart.yaml")
SST = str(CONFIGS / "sentiment" / "sst2_bigru.yaml")
TAG = str(CONFIGS / "tagging" / "conll2003_bilstm_crf.yaml")
# tiny, quiet, short runs that write into the working directory only
QUIET = ["--trainer.logger", "false", "--trainer.enable_progress_bar", "false", "--trainer.enable_model_summary", "false",
         "--trainer.callbacks", "null", "--test_after_fit", "false"]
SHORT = ["--trainer.max_steps", "2", "--trainer.max_epochs", "1", "--trainer.max_time", "null",
         "--trainer.limit_val_batches", "1"]
SMALL_SST = ["--model.init_args.embedding_dim", "8", "--model.init_args.backbone.hidden_size", "8", "--data.init_args.batch_size", "8"]
SMALL_TAG = ["--model.init_args.backbone.hidden_size", "8", "--model.init_args.embedding_dim", "8", "--model.init_args.char_features", "4",
             "--data.init_args.batch_size", "8"]
SMALL_LM = ["--model.init_args.backbone.hidden_size", "8", "--data.init_args.batch_size", "4", "--data.init_args.bptt", "8",
            "--trainer.callbacks", "null", "--num_threads", "1"]


@dataclass
class Run:
    code: int
    out: str
    err: str


def seqlit(*argv: str, cwd: Path) -> Run:
    """`python -m seqlit ARGV` in `cwd`, in this process; an exception escaping `main` fails the test (a traceback)."""
    old_cwd, old_argv, old_threads = os.getcwd(), sys.argv[:], torch.get_num_threads()
    out, err = io.StringIO(), io.StringIO()
    os.chdir(cwd)
    try:
        with redirect_stdout(out), redirect_stderr(err):
            try:
                main(list(argv))
                code = 0
            except SystemExit as stop:
                code = stop.code
    finally:
        os.chdir(old_cwd)
        sys.argv = old_argv
        torch.set_num_threads(old_threads)
    return Run(code, out.getvalue(), err.getvalue())


def one_line_error(run: Run, *needles: str) -> str:
    """The run exited 2, and its stderr ends in exactly one `seqlit: error:` line holding every needle, with no
    traceback (progress and log lines of `datasets` / Lightning may come before it); returns that line."""
    lines = [line for line in run.err.splitlines() if line.strip()]
    errors = [line for line in lines if line.startswith("seqlit: error: ")]
    assert run.code == 2, f"exit code {run.code}\n{run.err[-3000:]}"
    assert len(errors) == 1 and lines[-1] == errors[0], run.err[-3000:]
    assert "Traceback" not in run.err
    for needle in needles:
        assert needle in errors[0], errors[0]
    print(errors[0])  # `pytest -s` lists the messages (docs/errors.md copies them)
    return errors[0]


def nothing_written(folder: Path) -> None:
    """No run outputs under `folder`: no W&B run, config, checkpoint or predictions."""
    written = [p for p in folder.rglob("*") if p.name.endswith((".ckpt", ".yaml", ".jsonl")) or p.name in ("runs", "wandb", "checkpoints")]
    assert not written, written


# -- data and checkpoints ----------------------------------------------------------------------

def write_conll(path: Path, sentences: list[list[tuple[str, str]]]) -> None:
    path.write_text("".join("".join(f"{w} NN {t}\n" for w, t in s) + "\n" for s in sentences), encoding="utf-8")


IOB1 = [[("Paris", "I-LOC"), ("is", "O")], [("Olga", "I-PER")]]  # I- tags that open a span


def conll_dir(folder: Path, valid_extra: list | None = None) -> Path:
    """A small generated NER corpus (IOB2); `valid_extra` sentences are appended to the validation split."""
    people, places = [["John", "Smith"], ["Maria"], ["Olga"]], [["Paris"], ["New", "York"], ["Lagos"]]

    def sentence(i: int) -> list[tuple[str, str]]:
        per, loc = people[i % 3], places[(i // 3) % 3]
        return ([(w, ("B-" if j == 0 else "I-") + "PER") for j, w in enumerate(per)] + [("lives", "O"), ("in", "O")]
                + [(w, ("B-" if j == 0 else "I-") + "LOC") for j, w in enumerate(loc)] + [(".", "O")])

    folder.mkdir(parents=True)
    write_conll(folder / "train.conll", [sentence(i) for i in range(30)])
    write_conll(folder / "valid.conll", [sentence(i) for i in range(5)] + (valid_extra or []))
    write_conll(folder / "test.conll", [sentence(i) for i in range(5)])
    return folder


@pytest.fixture(scope="module")
def work(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("bad_input")


@pytest.fixture(scope="module")
def sst(work) -> Path:
    return make_sst_dir(work / "sst", n_train=40)


@pytest.fixture(scope="module")
def tagger(work) -> Path:
    """A tiny tagger checkpoint, fitted on gold data with two I- tags that open a span (IOB1, converted on load)."""
    data = conll_dir(work / "ner", valid_extra=IOB1)
    run_dir = work / "fit_tagger"
    run_dir.mkdir()
    run = seqlit("fit", "--config", TAG, "--data.init_args.path", str(data), *SMALL_TAG, *SHORT, *QUIET, cwd=run_dir)
    assert run.code == 0, run.err[-3000:]
    return run_dir / "checkpoints" / "last.ckpt"


@pytest.fixture(scope="module")
def classifier(work, sst) -> Path:
    run_dir = work / "fit_classifier"
    run_dir.mkdir()
    run = seqlit("fit", "--config", SST, "--data.init_args.path", str(sst), *SMALL_SST, *SHORT, *QUIET, cwd=run_dir)
    assert run.code == 0, run.err[-3000:]
    return run_dir / "checkpoints" / "last.ckpt"


@pytest.fixture
def cwd(tmp_path) -> Path:
    (tmp_path / "cwd").mkdir()
    return tmp_path / "cwd"


def lm_text(path: Path) -> Path:
    path.write_text("".join(f"the cat {i % 7} sees the dog .\n" for i in range(200)), encoding="utf-8")
    return path


# -- missing columns -------------------------------------------------------------------------------

def test_missing_tags_column(tmp_path, cwd):
    folder = tmp_path / "ner"
    folder.mkdir()
    for split in ("train", "validation", "test"):
        datasets.Dataset.from_dict({"tokens": [["Paris", "is"]], "ner_tags": [["B-LOC", "O"]]}).to_parquet(str(folder / f"{split}.parquet"))
    run = seqlit("fit", "--config", TAG, "--data.init_args.path", str(folder), "--data.init_args.tags_column", "labels", *QUIET, cwd=cwd)
    one_line_error(run, str(folder), "no column 'labels'", "columns: tokens, ner_tags", "--data.init_args.tags_column")


def test_missing_text_column(sst, cwd):
    run = seqlit("fit", "--config", SST, "--data.init_args.path", str(sst), "--data.init_args.text_column", "review", *QUIET, cwd=cwd)
    one_line_error(run, "no column 'review'", "columns: sentence, label, idx", "text_column")


# -- labels ----------------------------------------------------------------------------------------

def test_tag_id_outside_the_label_set(tmp_path, cwd):
    folder = tmp_path / "ner"
    folder.mkdir()
    for split in ("train", "validation", "test"):
        datasets.Dataset.from_dict({"tokens": [["Paris", "is", "big"]], "ner_tags": [[1, 0, 7]]}).to_parquet(str(folder / f"{split}.parquet"))
    run = seqlit("fit", "--config", TAG, "--data.init_args.path", str(folder), "--data.init_args.tag_names", "[O, B-LOC]",
                 *QUIET, cwd=cwd)
    one_line_error(run, "split 'train' sentence 0", "value 7 is outside the 2 tag names (O, B-LOC)", "--data.init_args.tag_names")


def test_unknown_tag_in_validation_split_writes_nothing(tmp_path, cwd):
    """Found while reading the validation split: before the trainer starts, so no run folder, config or checkpoint."""
    data = conll_dir(tmp_path / "ner", valid_extra=[[("Rome", "B-CITY")]])
    # QUIET[2:]: the default W&B (offline) logger stays on, and its run folder must not appear either
    run = seqlit("fit", "--config", TAG, "--data.init_args.path", str(data), *SMALL_TAG, *SHORT, *QUIET[2:], cwd=cwd)
    one_line_error(run, "split 'validation' sentence 5", "'B-CITY' is not among the tag names", "--data.init_args.tag_names")
    nothing_written(cwd)


def test_kept_iob1_with_a_constrained_crf_writes_nothing(tmp_path, cwd):
    """IOB1 is converted on load (tests/tagging/test_tagging_data.py); kept as it is, the BIO-constrained CRF refuses it."""
    data = conll_dir(tmp_path / "ner", valid_extra=IOB1)
    run = seqlit("fit", "--config", TAG, "--data.init_args.path", str(data), "--data.init_args.keep_iob1", "true",
                 *SMALL_TAG, *SHORT, *QUIET[2:], cwd=cwd)
    one_line_error(run, "data.keep_iob1 keeps IOB1 tags", "set --model.init_args.constrain_bio false")
    nothing_written(cwd)


# -- empty data --------------------------------------------------------------------------------------

def test_empty_file(tmp_path, cwd):
    empty = tmp_path / "corpus.txt"
    empty.write_bytes(b"")
    run = seqlit("fit", "--config", QUICK, "--data.init_args.path", str(empty), *SMALL_LM, *QUIET, cwd=cwd)
    one_line_error(run, str(empty), "is empty (0 bytes)")


def test_empty_sentence(tmp_path, cwd):
    folder = tmp_path / "ner"
    folder.mkdir()
    for split in ("train", "validation", "test"):
        datasets.Dataset.from_dict({"tokens": [["Paris"], []], "ner_tags": [["B-LOC"], []]}).to_parquet(str(folder / f"{split}.parquet"))
    run = seqlit("fit", "--config", TAG, "--data.init_args.path", str(folder), *QUIET, cwd=cwd)
    one_line_error(run, "split 'train' sentence 1 has no tokens", "remove empty sentences")


def test_text_without_words_in_validation_writes_nothing(tmp_path, cwd):
    folder = make_sst_dir(tmp_path / "sst", n_train=20)
    write_split(folder / "validation.parquet", ["a fine film .", "   ", "dull ."], [1, 0, 0])
    run = seqlit("fit", "--config", SST, "--data.init_args.path", str(folder), *SMALL_SST, *SHORT, *QUIET, cwd=cwd)
    one_line_error(run, "validation: text 1", "has no words")
    nothing_written(cwd)


def test_empty_predict_file(tagger, tmp_path, cwd):
    blank = tmp_path / "blank.txt"
    blank.write_text("\n   \n\n", encoding="utf-8")
    run = seqlit("predict", "--ckpt_path", str(tagger), "--data.init_args.predict_file", str(blank),
                 "--predict_output", "out.jsonl", *QUIET[:6], cwd=cwd)
    one_line_error(run, str(blank), "holds no sentences")
    nothing_written(cwd)


# -- encodings -----------------------------------------------------------------------------------------

def test_training_file_not_utf8(tmp_path, cwd):
    latin1 = tmp_path / "corpus.txt"
    latin1.write_bytes("un café au lait\n".encode("latin-1") * 20)
    run = seqlit("fit", "--config", QUICK, "--data.init_args.path", str(latin1), *SMALL_LM, *QUIET, cwd=cwd)
    one_line_error(run, str(latin1), "is not UTF-8 text", "re-encode it as UTF-8")


def test_predict_file_not_utf8(classifier, tmp_path, cwd):
    latin1 = tmp_path / "reviews.txt"
    latin1.write_bytes("un café merveilleux\n".encode("latin-1"))
    run = seqlit("predict", "--ckpt_path", str(classifier), "--data.init_args.predict_file", str(latin1),
                 "--predict_output", "out.jsonl", *QUIET[:6], cwd=cwd)
    one_line_error(run, "data.predict_file", str(latin1), "is not UTF-8 text", "at byte 6", "re-encode it as UTF-8")
    nothing_written(cwd)


def test_process_exit_code_and_stderr(tmp_path):
    """The same through a real `python -m seqlit` process: exit code 2, one line on stderr, no traceback."""
    latin1 = tmp_path / "corpus.txt"
    latin1.write_bytes("un café au lait\n".encode("latin-1") * 20)
    proc = run_seqlit("fit", "--config", QUICK, "--data.init_args.path", str(latin1), *SMALL_LM, *QUIET, cwd=tmp_path, check=False)
    one_line_error(Run(proc.returncode, proc.stdout, proc.stderr), "is not UTF-8 text")


# -- sequences longer than the maximum: cut and counted, not an error ------------------------------------

def test_long_training_sentences_are_cut_and_counted(tmp_path, caplog):
    """Tagging: `max_length` cuts training sentences and says how many; evaluation keeps whole sentences.
    (Sentiment's count: tests/sentiment/test_sentiment_data.py::test_long_documents_are_truncated_and_counted.)"""
    data = conll_dir(tmp_path / "ner")
    dm = TaggingData(path=str(data), max_length=4)
    with caplog.at_level("INFO"):
        train = dm.encoded("train")
    assert max(len(e["input_ids"]) for e in train) == 4
    assert "train: 30 of 30 sentences were longer than data.max_length=4 tokens and were truncated" in caplog.text
    assert max(len(e["input_ids"]) for e in dm.encoded("validation")) > 4


# -- hub ids offline ---------------------------------------------------------------------------------------

def test_hub_id_while_offline(cwd, monkeypatch):
    monkeypatch.setenv("HF_DATASETS_OFFLINE", "1")
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    run = seqlit("fit", "--config", SST, "--data.init_args.path", "nobody/no-such-dataset", *QUIET, cwd=cwd)
    one_line_error(run, "'nobody/no-such-dataset'", "offline", "pass local files instead", "--data.init_args.path")


# -- checkpoints ----------------------------------------------------------------------------------------------

def test_checkpoint_labels_not_in_the_data(classifier, tmp_path, cwd):
    other = tmp_path / "other"
    other.mkdir()
    for split in ("train", "validation", "test"):
        write_split(other / f"{split}.parquet", ["a zebra", "an emu"], [0, 1], names=["sad", "happy"])
    run = seqlit("test", "--ckpt_path", str(classifier), "--data.init_args.path", str(other), *QUIET[:6], cwd=cwd)
    one_line_error(run, str(other), "label 'sad' is not one of ['negative', 'positive']")


def test_checkpoint_vocabulary_not_the_datas(classifier, tmp_path, cwd):
    """Resuming with a vocabulary built from other data: refused before anything is written."""
    other = tmp_path / "other"
    other.mkdir()
    for split in ("train", "validation", "test"):
        write_split(other / f"{split}.parquet", ["a zebra", "an emu"], [0, 1])
    run = seqlit("fit", "--ckpt_path", str(classifier), "--data.init_args.vocab_from", "null", "--data.init_args.path", str(other),
                 *SHORT, *QUIET, cwd=cwd)
    one_line_error(run, str(classifier), "does not fit the model: readers.0.embedding.weight is [", "vocabulary")
    nothing_written(cwd)


def test_checkpoint_sizes_not_the_models(classifier, cwd):
    run = seqlit("test", "--ckpt_path", str(classifier), "--model.init_args.backbone.hidden_size", "16", *QUIET[:6], cwd=cwd)
    one_line_error(run, "does not fit the model", "hidden_size", "drop the overrides")


@pytest.mark.parametrize("damage", ["truncated", "not a checkpoint", "missing"])
def test_corrupt_checkpoint(classifier, tmp_path, cwd, damage):
    bad = tmp_path / "bad.ckpt"
    if damage == "truncated":
        bad.write_bytes(classifier.read_bytes()[:4000])
    elif damage == "not a checkpoint":
        bad.write_text("model: seqlit\n", encoding="utf-8")
    expected = {"truncated": "is corrupt, truncated", "not a checkpoint": "is corrupt, truncated", "missing": "does not exist"}
    run = seqlit("test", "--ckpt_path", str(bad), *QUIET[:6], cwd=cwd)
    one_line_error(run, str(bad), expected[damage])


def test_checkpoint_of_another_task(tagger, sst, cwd):
    run = seqlit("test", "--ckpt_path", str(tagger), "--config", SST, "--data.init_args.path", str(sst), *QUIET[:6], cwd=cwd)
    one_line_error(run, "written by another task (TaggingData), not SentimentData")


def test_generate_from_a_classifier(classifier, cwd):
    run = seqlit("generate", "--ckpt_path", str(classifier), cwd=cwd)
    one_line_error(run, "is not a language model", "seqlit.tasks.Classifier")


# -- sizes and rates -----------------------------------------------------------------------------------------------

@pytest.mark.parametrize(
    "args, expected",
    [
        (["--model.init_args.backbone.hidden_size", "0"], "model.init_args.backbone.hidden_size must be a positive integer, got 0"),
        (["--model.init_args.backbone.num_layers", "-1"], "model.init_args.backbone.num_layers must be a positive integer, got -1"),
        (["--data.init_args.bptt", "-8"], "data.bptt must be a positive number, got -8"),
        (["--trainer.accumulate_grad_batches", "0"], "trainer.accumulate_grad_batches must be a positive integer, got 0"),
        (["--trainer.max_steps", "-2"], "`max_steps` must be a non-negative integer or -1"),
        (["--model.init_args.dropout", "1.5"], "model.init_args.dropout must be a rate in [0, 1), got 1.5"),
        (["--model.init_args.embedding_dropout", "-0.1"], "model.init_args.embedding_dropout must be a rate in [0, 1), got -0.1"),
        (["--model.init_args.backbone.weight_dropout", "1.0"], "model.init_args.backbone.weight_dropout must be a rate in [0, 1), got 1.0"),
    ],
)
def test_sizes_and_rates_out_of_range(tmp_path, cwd, args, expected):
    corpus = lm_text(tmp_path / "corpus.txt")
    run = seqlit("fit", "--config", QUICK, "--data.init_args.path", str(corpus), *SMALL_LM, *QUIET, *args, cwd=cwd)
    one_line_error(run, expected)
    nothing_written(cwd)


@pytest.mark.parametrize(
    "args, expected",
    [
        (["--model.init_args.adaptive_input", "true"], "model.adaptive_input needs model.adaptive_cutoffs"),
        (["--model.init_args.tie_weights", "true", "--model.init_args.adaptive_cutoffs", "[4, 8]"],
         "model.tie_weights with model.adaptive_cutoffs needs model.adaptive_input: true"),
        (["--model.init_args.adaptive_cutoffs", "[4, 9999]"], "must increase and lie strictly between 0 and vocab_size=21"),
        (["--model.init_args.adaptive_cutoffs", "[8, 4]"], "must increase and lie strictly between 0 and vocab_size=21"),
        (["--model.init_args.adaptive_cutoffs", "[4, 8]", "--model.init_args.adaptive_input", "true",
          "--model.init_args.embedding_dim", "8"], "model.embedding_dim 8: AdaptiveInput: dim 8 leaves the last"),
    ],
)
def test_contradictory_language_model_options(tmp_path, cwd, args, expected):
    corpus = lm_text(tmp_path / "corpus.txt")
    run = seqlit("fit", "--config", QUICK, "--data.init_args.path", str(corpus), *SMALL_LM, *QUIET, *args, cwd=cwd)
    print(one_line_error(run, expected))
    nothing_written(cwd)
