"""Suite files: mistakes are one line naming the file, the entry and the key; the committed suites load."""

from __future__ import annotations

import os
import textwrap
from pathlib import Path

import pytest

from seqlit.benchmark.command import main as benchmark
from seqlit.benchmark.runner import fit_command
from seqlit.benchmark.suite import load_suite, select
from seqlit.errors import SeqlitError
from tests.conftest import REPO

QUICK = str(REPO / "configs" / "quickstart.yaml")
GOOD = f"""
suite: t
defaults:
  config: {QUICK}
  budget: {{max_steps: 3}}
entries:
  - name: pydoc-char-gru
    dataset: pydoc_topics
"""


def write(tmp_path: Path, text: str) -> str:
    path = tmp_path / "suite.yaml"
    path.write_text(textwrap.dedent(text))
    return str(path)


@pytest.mark.parametrize("text, message", [
    ("entries: []\nsuite: t\n", "'entries' must be a non-empty list"),
    (GOOD.replace("suite: t", ""), "'suite: NAME' is required"),
    (GOOD + "colour: red\n", "unknown key 'colour'"),
    (GOOD + "    overides: {}\n", "entry 1 (pydoc-char-gru): unknown key 'overides'"),
    (GOOD.replace("{max_steps: 3}", "{max_epochs: 3}"), "budget needs max_steps or max_time"),
    (GOOD.replace("{max_steps: 3}", "{max_steps: -1}"), "budget.max_steps must be a positive integer"),
    (GOOD.replace("{max_steps: 3}", "{max_time: 10}"), "budget.max_time must be a string \"dd:hh:mm:ss\""),
    (GOOD.replace("    dataset: pydoc_topics\n", ""), "give data (a folder under the data root) or dataset"),
    (GOOD.replace("pydoc-char-gru", "pydoc char gru"), "name must be letters, digits"),
    (GOOD + "  - name: pydoc-char-gru\n    dataset: x\n", "'pydoc-char-gru' appears twice"),
    (GOOD.replace(QUICK, "configs/nope.yaml"), "config 'configs/nope.yaml' not found"),
    (GOOD + "    overrides: {trainer.max_steps: 5}\n", "put 'trainer.max_steps' under budget"),
    (GOOD + "    overrides: {trainer.logger: false}\n", "'trainer.logger' is set by the benchmark runner"),
    (GOOD + "    data: ../elsewhere\n", "data must be a relative path under the data root"),
    (GOOD + "compare: {max_throughput_drop: 2}\n", "max_throughput_drop must be a fraction"),
    (GOOD + "compare: {max_throughput_drop: false}\n", "max_throughput_drop must be a fraction"),  # not 0
    (GOOD + "compare: {tolerances: {ppl: -1}}\n", "compare.tolerances.ppl must be a non-negative number"),
    ("suite: [unclosed\n", "not valid YAML"),
    (GOOD + "compare: {tolerances: {bpcc: 0.02}}\n", "compare.tolerances: unknown metric 'bpcc'"),
    (GOOD + "compare: {tolerances: {mystery: 0.02}}\n", "compare.tolerances: unknown metric 'mystery'"),
    (GOOD + "    seeds: [0, 0]\n", "seeds must be a list of distinct non-negative integers"),
    (GOOD + "    seeds: [[1]]\n", "seeds must be a list of distinct non-negative integers"),
    (GOOD + "    seeds: 3\n", "seeds must be a list of distinct non-negative integers"),
    (GOOD + "    seeds: [1]\n    overrides: {seed_everything: 2}\n", "give the seed in seeds or in overrides"),
    (GOOD + "    target: {metric: test/f1, value: 0.9}\n", "target.metric must be a validation metric"),
    (GOOD + "    target: {metric: val/mystery, value: 0.9}\n", "target.metric must be a validation metric"),
    (GOOD + "    target: {metric: val/f1, value: high}\n", "target.value must be a number"),
    (GOOD + "    target: {metric: val/f1, valeu: 0.9}\n", "target: unknown key 'valeu'"),
    (GOOD + "    target: {metric: val/f1}\n", "target.value must be a number, got None"),
    (GOOD + "    task: 5\n", "entry 1 (pydoc-char-gru): task must be a string, got 5"),
    (GOOD + "    budget: {max_steps: 2, foo: 1}\n", "budget: unknown key 'foo' (allowed: max_epochs, max_steps, max_time)"),
    (GOOD + "env: 3\n", "env must be a mapping (key: value), got int"),
])
def test_mistakes_are_one_line(tmp_path, text, message):
    with pytest.raises(SeqlitError) as err:
        load_suite(write(tmp_path, text))
    assert message in str(err.value) and "\n" not in str(err.value)


def test_seeds_and_target_are_read(tmp_path):
    suite = load_suite(write(tmp_path, GOOD + "    seeds: [0, 1, 2]\n    target: {metric: val/bpc, value: 4}\n"
                             "compare: {tolerances: {bpc: 0.01, f1_PER: 0.05}}\n"))
    entry = suite.entries[0]
    assert entry.seeds == (0, 1, 2) and entry.target == {"metric": "val/bpc", "value": 4.0}
    assert suite.compare == {"tolerances": {"bpc": 0.01, "f1_PER": 0.05}}
    cmd = fit_command(entry, "out", "v1", None, seed=2)
    assert cmd[cmd.index("--seed_everything") + 1] == "2"


def test_dry_run_prints_one_command_per_seed(tmp_path, capsys):
    benchmark(["--suite", write(tmp_path, GOOD + "    seeds: [3, 4]\n"), "--dry_run"])
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 2 and "--seed_everything 3" in lines[0] and "--seed_everything 4" in lines[1]


@pytest.mark.parametrize("flags", [["--dry-run", "--data-root", "D"], ["--dry_run", "--data_root", "D"],
                                   ["--dry-run", "--data-root=D"], ["--dry_run", "--data_root=D"]])
def test_flags_take_both_spellings(tmp_path, capsys, flags):
    (tmp_path / "D" / "sst2").mkdir(parents=True)
    path = write(tmp_path, GOOD.replace("dataset: pydoc_topics", "data: sst2"))
    benchmark(["--suite", path, *[str(tmp_path / f) if f == "D" else f.replace("=D", f"={tmp_path / 'D'}")
                                  for f in flags]])
    assert f"--data.init_args.path {tmp_path / 'D' / 'sst2'}" in capsys.readouterr().out


def test_help_shows_the_underscore_spelling(capsys):
    with pytest.raises(SystemExit):
        benchmark(["--help"])
    text = capsys.readouterr().out
    assert all(f in text for f in ("--data_root", "--dry_run", "--compare_throughput", "--allow_new",
                                   "--allow_dirty_baseline"))
    assert "--data-root" not in text and "--dry-run" not in text and "--compare-throughput" not in text


def test_a_misspelt_or_missing_flag_is_one_line():
    with pytest.raises(SeqlitError, match="unrecognized arguments: --data_rot"):
        benchmark(["--suite", "x.yaml", "--data_rot", "D"])
    with pytest.raises(SeqlitError, match="--suite is required"):
        benchmark(["--dry_run"])


def test_defaults_merge_and_entry_wins(tmp_path):
    suite = load_suite(write(tmp_path, GOOD.replace("  budget:", "  overrides: {a.b: 1, a.c: 2}\n  env: {X: 1}\n  budget:")
                             + "    overrides: {a.c: 3}\n    budget: {max_time: \"00:00:01:00\"}\n"))
    entry = suite.entries[0]
    assert entry.overrides == {"a.b": 1, "a.c": 3}
    assert entry.budget == {"max_time": "00:00:01:00"} and entry.env == {"X": "1"}


def test_only_selects_by_glob_and_rejects_no_match(tmp_path):
    suite = load_suite(write(tmp_path, GOOD + "  - name: sst2-bigru\n    dataset: sst2\n"))
    assert [e.name for e in select(suite, "sst2-*,nothing")] == ["sst2-bigru"]
    with pytest.raises(SeqlitError, match="matches no entry"):
        select(suite, "conll*")


def test_data_root_replaces_data_path(tmp_path):
    (tmp_path / "data" / "sst2").mkdir(parents=True)
    suite = load_suite(write(tmp_path, GOOD.replace("dataset: pydoc_topics", "data: sst2")))
    cmd = fit_command(suite.entries[0], str(tmp_path / "out"), "v1", str(tmp_path / "data"))
    assert cmd[cmd.index("--data.init_args.path") + 1] == str(tmp_path / "data" / "sst2")
    assert suite.entries[0].dataset == "sst2"
    with pytest.raises(SeqlitError, match="does not exist"):
        fit_command(suite.entries[0], "out", "v1", str(tmp_path / "nowhere"))


@pytest.mark.parametrize("name", ["tiny", "cpu", "cpu_sweep", "gpu"])
def test_committed_suites_load_and_print_commands(name, capsys, monkeypatch):
    monkeypatch.chdir(REPO)
    data_root = REPO.parent / "shared" / "data"
    args = ["--suite", f"configs/benchmarks/{name}.yaml", "--dry_run"]
    if name != "tiny" and data_root.is_dir():
        args += ["--data_root", str(data_root)]
    benchmark(args)
    lines = capsys.readouterr().out.splitlines()
    entries = load_suite(os.path.join("configs", "benchmarks", f"{name}.yaml")).entries
    assert len(lines) == sum(len(e.seeds or [None]) for e in entries)
    assert all("--test_after_fit true" in line and "Throughput" in line for line in lines)
