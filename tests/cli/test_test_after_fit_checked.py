"""`fit --test_after_fit true` reads and checks the test split before training, as docs/errors.md promises.

A bad test label used to be found after the whole training budget, with a checkpoint and results.json left behind.
"""

from __future__ import annotations

from tests.test_bad_input import QUIET, SHORT, SMALL_TAG, TAG, conll_dir, nothing_written, one_line_error, seqlit


def test_bad_test_split_is_found_before_training(tmp_path):
    data = conll_dir(tmp_path / "ner")
    with open(data / "test.conll", "a", encoding="utf-8") as f:
        f.write("Rome NN B-CITY\n\n")
    cwd = tmp_path / "cwd"
    cwd.mkdir()
    quiet = [a if a != "false" or QUIET[i - 1] != "--test_after_fit" else "true" for i, a in enumerate(QUIET)]
    run = seqlit("fit", "--config", TAG, "--data.init_args.path", str(data), *SMALL_TAG, *SHORT, *quiet, cwd=cwd)
    one_line_error(run, "split 'test'", "'B-CITY' is not among the tag names")
    nothing_written(cwd)


def test_without_test_after_fit_the_test_split_is_not_read(tmp_path):
    """The check costs nothing when no test follows: a bad test split does not stop a plain fit."""
    data = conll_dir(tmp_path / "ner")
    with open(data / "test.conll", "a", encoding="utf-8") as f:
        f.write("Rome NN B-CITY\n\n")
    cwd = tmp_path / "cwd"
    cwd.mkdir()
    run = seqlit("fit", "--config", TAG, "--data.init_args.path", str(data), *SMALL_TAG, *SHORT, *QUIET, cwd=cwd)
    assert run.code == 0, run.err[-2000:]
