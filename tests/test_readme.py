"""The README says only what the code does.

* Every command of a ```bash block of README.md that runs `python -m seqlit` runs here, as written, with tiny
  budgets appended (`--trainer.max_steps 2` …; the benchmark as `--dry_run`: tests/benchmark/test_end_to_end.py
  runs the tiny suite itself) and its data pointed at small local copies. Placeholders are filled with real
  things: `runs/seqlit/<run>/…` with a run trained here first, `<ckpt>` with a tagger checkpoint,
  `my_pkg.MyBackbone` with the backbone that lives in tests/core.
* Every `$ python -m seqlit …` example that shows output is run on a small checkpoint, and what it prints has
  the shape the README shows: predict's readable view (the input line, then its entities with offsets) line for
  line, generate's text starting with its prompt. The shown texts themselves come from the trained models the
  README names.
* The CPU-suite table agrees with the records in results/cpu/results.jsonl (the newest of each entry).
"""

from __future__ import annotations

import json
import re
import shlex
import shutil
from pathlib import Path

import pytest

from seqlit.benchmark.seeds import summarize
from tests.conftest import REPO, needs_shared_data, run_seqlit

README = (REPO / "README.md").read_text(encoding="utf-8")
LEGACY = REPO / "tests" / "fixtures" / "legacy"
ENV = {"OMP_NUM_THREADS": "1"}
# appended to each command, by command: tiny budgets, no progress bar, one thread
TINY = {
    "fit": ["--trainer.max_steps", "2", "--trainer.max_epochs", "1", "--trainer.max_time", "null",
            "--trainer.limit_val_batches", "1", "--trainer.limit_test_batches", "1", "--trainer.enable_progress_bar",
            "false", "--trainer.num_sanity_val_steps", "0", "--test_after_fit", "false", "--num_threads", "1"],
    "test": ["--trainer.limit_test_batches", "1", "--trainer.enable_progress_bar", "false", "--num_threads", "1"],
    "predict": ["--trainer.enable_progress_bar", "false", "--num_threads", "1"],
    "generate": [],
    "benchmark": ["--dry_run"],
}
# the data of a config, pointed at something small (its own data is the full corpus, or generated at full size)
SMALL_DATA = {
    "configs/tagging/conll2003_bilstm_crf.yaml": ["--data.init_args.path", str(LEGACY / "data" / "ner")],
    "configs/translation/dates_gru_attn.yaml": ["--data.init_args.train_size", "64", "--data.init_args.val_size", "16",
                                                "--data.init_args.test_size", "16"],
}
SENTENCES = ["Maria works for Siemens in Paris .", "John Smith lives in Berlin ."]


def fenced(text: str) -> list[tuple[str, str]]:
    """(language, body) of every fenced block, in order."""
    blocks, lang, body = [], None, []
    for line in text.splitlines():
        if line.startswith("```"):
            if lang is None:
                lang, body = line[3:].strip(), []
            else:
                blocks.append((lang, "\n".join(body) + "\n"))
                lang = None
        elif lang is not None:
            body.append(line)
    return blocks


def bash_commands(text: str) -> list[list[str]]:
    """The `python -m seqlit` commands of the ```bash blocks, as argument lists after `python -m seqlit`
    (leading VAR=value settings dropped, comments removed)."""
    commands = []
    for block in (body for lang, body in fenced(text) if lang == "bash"):
        for line in block.splitlines():
            words = shlex.split(line, comments=True)
            while words and re.fullmatch(r"\w+=\S*", words[0]):
                words = words[1:]
            if words[:3] == ["python", "-m", "seqlit"]:
                commands.append(words[3:])
    return commands


def shown_examples(text: str) -> list[tuple[list[str], list[str]]]:
    """(`python -m seqlit` arguments, the output lines shown) of every `$ python -m seqlit …` example."""
    examples = []
    for block in (body for lang, body in fenced(text) if lang == ""):
        for part in re.split(r"^\$ ", block, flags=re.M)[1:]:
            command, *output = part.rstrip("\n").split("\n")
            words = shlex.split(command)
            if words[:3] == ["python", "-m", "seqlit"]:
                examples.append((words[3:], output))
    return examples


@pytest.fixture(scope="module")
def workdir(tmp_path_factory):
    """A folder laid out as the README assumes: configs/ and results/ of the repository, a trained run, a tagger
    checkpoint, two config files and a sentence file."""
    tmp = tmp_path_factory.mktemp("readme")
    for name in ("configs", "results"):
        (tmp / name).symlink_to(REPO / name)
    shutil.copy(LEGACY / "tagger.ckpt", tmp / "tagger.ckpt")
    shutil.copy(REPO / "configs" / "quickstart.yaml", tmp / "a.yaml")
    (tmp / "b.yaml").write_text("model:\n  init_args:\n    backbone:\n      init_args:\n        hidden_size: 16\n")
    (tmp / "sentences.txt").write_text("\n".join(SENTENCES) + "\n", encoding="utf-8")
    run_seqlit("fit", "--config", "configs/quickstart.yaml", *TINY["fit"], "--trainer.max_steps", "1", cwd=tmp, env=ENV)
    (run,) = (tmp / "runs" / "seqlit").iterdir()
    return tmp, run.name


def filled(args: list[str], tmp: Path, run: str) -> list[str]:
    out = []
    for arg in args:
        arg = arg.replace("<run>", run).replace("<ckpt>", "tagger.ckpt").replace("/tmp/tiny", str(tmp / "tiny"))
        out.append(arg.replace("my_pkg.MyBackbone", "tests.core.plugin_backbone.LeakyAverage"))
    configs = [args[i + 1] for i, a in enumerate(args[:-1]) if a == "--config"]
    return out + [x for c in configs for x in SMALL_DATA.get(c, [])] + TINY[args[0]]


def test_the_readme_has_the_commands_this_test_knows():
    commands = bash_commands(README)
    assert {c[0] for c in commands} <= set(TINY), commands  # a new kind of command needs its tiny budget here
    assert len(commands) >= 10 and len(shown_examples(README)) >= 3


@needs_shared_data  # the README's benchmark commands name ../shared/data
def test_every_readme_command_runs(workdir):
    tmp, run = workdir
    for args in bash_commands(README):
        proc = run_seqlit(*filled(args, tmp, run), cwd=tmp if args[0] != "benchmark" else REPO, env=ENV)
        if "--print_config" in args:
            assert "class_path: seqlit.tasks.LanguageModel" in proc.stdout
        if args[0] == "predict" and args[args.index("--predict_output") + 1] == "-":
            assert [json.loads(line)["text"] for line in proc.stdout.splitlines()] == SENTENCES


ENTITIES = re.compile(r'  (\(no entities\)|\w+ "[^"]*" \[\d+, \d+\)(   \w+ "[^"]*" \[\d+, \d+\))*)')


def test_shown_output_is_what_the_command_prints(workdir):
    tmp, run = workdir
    checkpoints = {"predict": "tagger.ckpt", "generate": f"runs/seqlit/{run}/checkpoints/last.ckpt"}
    for args, shown in shown_examples(README):
        args = [checkpoints[args[0]] if a == "CKPT" else a for a in args]
        if args[0] == "predict":
            inputs = [line for line in shown if not line.startswith("  ")]
            (tmp / "sentences.txt").write_text("\n".join(inputs) + "\n", encoding="utf-8")
        printed = run_seqlit(*filled(args, tmp, run), cwd=tmp, env=ENV).stdout.splitlines()
        if args[0] == "predict":  # the same lines: each input, then its entities as the README writes them
            assert len(printed) == len(shown) and [p for p in printed if not p.startswith("  ")] == inputs, printed
            assert all(ENTITIES.fullmatch(p) for p in printed if p.startswith("  ")), printed
        else:
            prompt = args[args.index("--prompt") + 1]
            assert printed and printed[0].startswith(prompt), printed
    (tmp / "sentences.txt").write_text("\n".join(SENTENCES) + "\n", encoding="utf-8")


def newest_records() -> dict[str, dict]:
    """Each entry's newest run: its record, or, for an entry run with seeds, the mean of its seeds' records."""
    runs: dict[str, list[dict]] = {}
    for line in (REPO / "results" / "cpu" / "results.jsonl").read_text(encoding="utf-8").splitlines():
        record = json.loads(line)  # appended in time order
        same_run = record.get("run_id") is not None and record["run_id"] == runs.get(record["name"], [{}])[-1].get("run_id")
        runs[record["name"]] = [*runs[record["name"]], record] if same_run else [record]
    return {name: {"metrics": {m: s.mean for m, s in summarize(records)["metrics"].items()},
                   "sd": {m: s.sd for m, s in summarize(records)["metrics"].items()}}
            for name, records in runs.items()}


HEADLINE = {"f1": "test/f1", "accuracy": "test/acc", "perplexity": "test/ppl", "bits/char": "test/bpc",
            "exact match": "test/exact_match"}


def test_the_cpu_suite_table_agrees_with_its_records():
    section = README.split("### The CPU suite", 1)[1].split("\n### ", 1)[0]
    records, checked = newest_records(), 0
    for row in re.findall(r"^\| `([^`]+)` \|[^|]*\|[^|]*\| ([^|]+) \|([^|]*)\|", section, re.M):
        entry, result, spread = row
        names = [entry] if "{" not in entry else \
            [re.sub(r"\{[^}]*\}", kind, entry) for kind in re.search(r"\{([^}]*)\}", entry).group(1).split(",")]
        metric = next(m for word, m in HEADLINE.items() if word in result.lower())
        figures = re.findall(r"\d+\.\d+", result)
        assert len(figures) == len(names), (entry, result)
        for name, figure in zip(names, figures):
            value = records[name]["metrics"][metric]
            decimals = len(figure.split(".")[1])
            assert float(figure) == pytest.approx(value, abs=0.5 * 10 ** -decimals + 1e-9), (name, figure, value)
            checked += 1
        # the spread column: "1 seed", or each name's "± sd (min–max), n seeds" over the seeds of its newest run
        sds = re.findall(r"± (\d+\.\d+)", spread)
        if "1 seed" in spread:
            assert all(records[name]["sd"][metric] is None for name in names), (entry, spread)
        else:
            assert len(sds) == len(names), (entry, spread)
            for name, sd in zip(names, sds):
                decimals = len(sd.split(".")[1])
                assert float(sd) == pytest.approx(records[name]["sd"][metric], abs=0.5 * 10 ** -decimals + 1e-9), (name, sd)
    assert checked >= 9
