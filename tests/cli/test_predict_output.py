"""`predict` shows its predictions readably on the terminal and keeps the JSON Lines file; with `--predict_output -`
standard output holds only the JSON lines (no progress bar, no W&B lines); blank input lines get a record each.

Run on the 0.1 fixture checkpoints (tests/fixtures/legacy), with the default W&B logger and progress bar on.
"""

from __future__ import annotations

import json
import shutil

import pytest

from tests.conftest import REPO, run_seqlit

LEGACY = REPO / "tests" / "fixtures" / "legacy"
TASKS = ["tagger", "classifier", "seq2seq"]
INPUT = "Maria works for Siemens in Paris .\n\nJohn Smith lives in Berlin on 3rd of March 2021 .\n   \n"
BLANK = [1, 3]  # 0-based line numbers of the blank lines above
LOUD = {"WANDB_SILENT": "false"}  # W&B prints its lines, as it does for a user


def predict(tmp_path, task: str, output: str):
    shutil.copy(LEGACY / f"{task}.ckpt", tmp_path)
    (tmp_path / "in.txt").write_text(INPUT, encoding="utf-8")
    return run_seqlit("predict", "--ckpt_path", f"{task}.ckpt", "--data.init_args.predict_file", "in.txt",
                      "--predict_output", output, "--num_threads", "1", cwd=tmp_path, env=LOUD)


def assert_one_record_per_line(records: list[dict]) -> None:
    assert [r["index"] for r in records] == list(range(len(INPUT.splitlines())))
    assert [r["index"] for r in records if r.get("skipped") == "blank line"] == BLANK


def expected_view(record: dict) -> list[str]:
    """What the terminal must show of a record, taken from the record itself."""
    if "skipped" in record:
        return [f"line {record['index'] + 1}: blank line"]
    if "entities" in record:
        return [record["text"]] + ([f'{e["type"]} "{e["text"]}" [{e["start"]}, {e["end"]})' for e in record["entities"]]
                                   or ["(no entities)"])
    if "probs" in record:
        return [record["text"], f"{record['label']} {record['probs'][record['label']]:.3f}"]
    return [record["source"], f"→ {record['translation']}"]


@pytest.mark.parametrize("task", TASKS)
def test_predict_to_a_file_shows_a_readable_view(tmp_path, task):
    proc = predict(tmp_path, task, "out.jsonl")
    records = [json.loads(line) for line in (tmp_path / "out.jsonl").read_text(encoding="utf-8").splitlines()]
    assert_one_record_per_line(records)
    for record in records:
        for piece in expected_view(record):
            assert piece in proc.stdout, (piece, proc.stdout)
    assert "wandb" not in proc.stdout and "Predicting" not in proc.stdout  # the chatter goes to stderr
    assert "2 blank line(s) (2, 4)" in proc.stderr


@pytest.mark.parametrize("task", TASKS)
def test_predict_to_stdout_prints_only_json_lines(tmp_path, task):
    proc = predict(tmp_path, task, "-")
    records = [json.loads(line) for line in proc.stdout.splitlines()]  # any other line fails here
    assert_one_record_per_line(records)
    assert "Predicting" in proc.stderr  # the progress bar was shown, on stderr
