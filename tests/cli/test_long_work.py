"""Long work shows itself (seqlit/cli/long_work.py): a very long predict line and a huge training window get a note
with their size, and a one-line refusal where the estimate exceeds the device's memory, which
`--check_memory false` lifts. The device's memory is made small here, rather than the input huge."""

from __future__ import annotations

from tests.conftest import REPO
from tests.test_bad_input import QUIET, SHORT, lm_text, one_line_error, seqlit

LEGACY = REPO / "tests" / "fixtures" / "legacy"
LONG_LINE = "Maria lives in Paris . " * 6000  # 138,000 characters on one line


def predict(tmp_path, *extra):
    (tmp_path / "in.txt").write_text("John works .\n" + LONG_LINE + "\n", encoding="utf-8")
    return seqlit("predict", "--ckpt_path", str(LEGACY / "tagger.ckpt"), "--data.init_args.predict_file", "in.txt",
                  "--predict_output", "out.jsonl", "--num_threads", "1", "--trainer.enable_progress_bar", "false",
                  *extra, cwd=tmp_path)


def test_a_very_long_predict_line_gets_a_note(tmp_path):
    run = predict(tmp_path)
    assert run.code == 0, run.err[-2000:]
    assert f"[seqlit] predict: line 2 of in.txt holds {len(LONG_LINE):,} characters" in run.err


def test_a_predict_line_beyond_the_memory_is_refused_unless_asked(tmp_path, monkeypatch):
    monkeypatch.setattr("seqlit.cli.long_work.device_memory", lambda device: 10**6)
    one_line_error(predict(tmp_path), "line 2 of in.txt holds", "more than the 1.0 MB this device has",
                   "split it into sentences", "--check_memory false runs it anyway")
    assert not (tmp_path / "out.jsonl").exists()
    assert predict(tmp_path, "--check_memory", "false").code == 0


def fit(tmp_path, *extra):
    corpus = lm_text(tmp_path / "corpus.txt")
    return seqlit("fit", "--config", str(REPO / "configs" / "quickstart.yaml"), "--data.init_args.path", str(corpus),
                  "--model.init_args.backbone.hidden_size", "8", "--data.init_args.batch_size", "2",
                  "--data.init_args.bptt", "5000", "--num_threads", "1", *SHORT, *QUIET, *extra, cwd=tmp_path)


def test_a_huge_window_gets_a_note(tmp_path):
    run = fit(tmp_path)
    assert run.code == 0, run.err[-2000:]
    assert "[seqlit] data.bptt 5,000: each training step back-propagates through 5,000 time steps of 2 streams" in run.err


def test_a_window_beyond_the_memory_is_refused_unless_asked(tmp_path, monkeypatch):
    monkeypatch.setattr("seqlit.cli.long_work.device_memory", lambda device: 10**5)
    one_line_error(fit(tmp_path), "data.bptt 5,000", "more than the 100.0 KB this device has",
                   "lower --data.init_args.bptt", "--check_memory false runs it anyway")
    assert fit(tmp_path, "--check_memory", "false").code == 0
