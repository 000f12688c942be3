"""Every option of every command is checked before work starts, and the one line says where the bad value came
from: the option, or the config file and line (seqlit/cli/config_source.py). In-process: `seqlit.cli.main.main`."""

from __future__ import annotations

import shutil

import pytest

from seqlit.cli.main import main
from seqlit.cli.config_source import source_of, yaml_keys
from tests.conftest import REPO

LEGACY = REPO / "tests" / "fixtures" / "legacy"
QUICKSTART = str(REPO / "configs" / "quickstart.yaml")


def error_line(capsys, *argv: str) -> str:
    with pytest.raises(SystemExit) as stop:
        main(list(argv))
    assert stop.value.code == 2
    lines = [line for line in capsys.readouterr().err.splitlines() if line.strip()]
    assert lines[-1].startswith("seqlit: error: ") and "Traceback" not in "\n".join(lines)
    return lines[-1]


@pytest.fixture
def cwd(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    shutil.copy(LEGACY / "tagger.ckpt", tmp_path)
    (tmp_path / "in.txt").write_text("Maria works for Siemens in Paris .\n", encoding="utf-8")
    return tmp_path


def test_predict_output_that_cannot_be_written_is_refused_before_predicting(cwd, capsys):
    predict = ["predict", "--ckpt_path", "tagger.ckpt", "--data.init_args.predict_file", "in.txt",
               "--trainer.enable_progress_bar", "false", "--predict_output"]
    line = error_line(capsys, *predict, "in.txt/out.jsonl")
    assert f"--predict_output 'in.txt/out.jsonl' cannot be written: {cwd}/in.txt is a file, not a folder" in line
    (cwd / "outdir").mkdir()
    line = error_line(capsys, *predict, "outdir")
    assert "--predict_output 'outdir' is a folder" in line and "outdir/predictions.jsonl" in line
    assert sorted(p.name for p in cwd.iterdir()) == ["in.txt", "outdir", "tagger.ckpt"]  # nothing predicted, written
    assert list((cwd / "outdir").iterdir()) == []


def test_a_missing_checkpoint_names_the_option_and_the_path_tried(cwd, capsys):
    line = error_line(capsys, "test", "--ckpt_path", "runs/nothing/last.ckpt")
    assert f"--ckpt_path 'runs/nothing/last.ckpt' does not exist (looked for {cwd}/runs/nothing/last.ckpt" in line
    assert f"working directory {cwd})" in line


def test_a_bad_value_names_the_config_file_line_or_the_option_that_set_it(cwd, capsys):
    (cwd / "bad.yaml").write_text("model:\n  init_args:\n    backbone:\n      init_args:\n        hidden_size: -3\n")
    line = error_line(capsys, "fit", "--config", QUICKSTART, "--config", "bad.yaml")
    assert "model.init_args.backbone.hidden_size must be a positive integer, got -3" in line
    assert line.endswith("(from bad.yaml:5)")
    (cwd / "typo.yaml").write_text("trainer:\n  max_stepz: 3\n")
    line = error_line(capsys, "fit", "--config", QUICKSTART, "--config", "typo.yaml")
    assert line == "seqlit: error: unknown config key 'trainer.max_stepz'; did you mean 'max_steps'? (from typo.yaml:2)"
    line = error_line(capsys, "test", "--ckpt_path", "tagger.ckpt", "--trainer.max_steps", "abc")
    assert line == ("seqlit: error: bad value for trainer.max_steps: Expected a <class 'int'>. Got value: abc "
                    "(from option --trainer.max_steps)")
    line = error_line(capsys, "fit", "--config", QUICKSTART, "--data.init_args.path", "no/such/dir")
    assert "data.path 'no/such/dir' does not exist" in line and line.endswith("(from option --data.init_args.path)")
    assert not (cwd / "runs").exists()


@pytest.mark.parametrize(("argv", "expected"), [
    (["generate"], "generate: --ckpt_path is required"),
    (["generate", "--ckpt_path", "x.ckpt", "--max_tokens", "abc"], "generate: argument --max_tokens: invalid int value: 'abc'"),
    (["generate", "--ckpt-path", "x.ckpt", "--temperature", "-1"], "--temperature must be 0 (greedy) or more, got -1.0"),
    (["generate", "--ckpt_path", "x.ckpt", "--top-k", "0"], "--top_k must be positive, got 0"),
    (["generate", "--ckpt_path", "x.ckpt", "--bogus"], "generate: unrecognized arguments: --bogus"),
    (["generate", "--ckpt_path", "x.ckpt"], "checkpoint 'x.ckpt' does not exist (looked for"),
    (["benchmark", "--suite", "configs/benchmarks/tiny.yaml", "--out", "in.txt"], "--out 'in.txt' is a file, not a folder"),
    (["benchmark", "--suite", "configs/benchmarks/tiny.yaml", "--dry-run", "--compare-throughput", "maybe"],
     "benchmark: argument --compare_throughput: expected true or false, got 'maybe'"),
])
def test_generate_and_benchmark_flags_are_checked_first(cwd, capsys, monkeypatch, argv, expected):
    if argv[0] == "benchmark":
        monkeypatch.chdir(REPO)  # suites name their configs from the repository root
        argv = [str(cwd / a) if a == "in.txt" else a for a in argv]
        expected = expected.replace("'in.txt'", repr(str(cwd / "in.txt")))
    assert expected in error_line(capsys, *argv)


def test_sources_are_read_in_command_line_order(tmp_path):
    a, b = tmp_path / "a.yaml", tmp_path / "b.yaml"
    a.write_text("data:\n  init_args:\n    path: x\n    batch_size: 4\n")
    b.write_text("# comment\ndata:\n  batch_size: 8\n")
    assert yaml_keys(a.read_text())[("data", "batch_size")] == 4
    assert source_of("data.batch_size", ["--config", str(a), "--config", str(b)]) == f"{b}:3"
    assert source_of("data.init_args.batch_size", ["--config", str(b), "--data.batch_size", "2"]) == "option --data.batch_size"
    assert source_of("data.path", ["--config", str(b)]) is None  # a default: no source to name
    assert source_of("model.init_args.backbone.hidden_size", ["--model.init_args.backbone", "{}"]) == \
        "option --model.init_args.backbone"  # a whole section set at once
