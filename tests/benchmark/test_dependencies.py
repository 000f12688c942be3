"""`after:` entries: checked before anything trains, run after what they start from, failed when it failed."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import pytest

from seqlit.benchmark import dependencies, results
from seqlit.benchmark.command import main as benchmark
from seqlit.benchmark.suite import load_suite, select
from seqlit.errors import SeqlitError
from tests.conftest import REPO, run_seqlit

QUICK = str(REPO / "configs" / "quickstart.yaml")
HEAD = f"""
suite: t
defaults:
  config: {QUICK}
  dataset: pydoc_topics
  budget: {{max_steps: 3}}
  overrides:                    # the tiny suite's small character LM, validated (and checkpointed) every 3 steps
    model.init_args.embedding_dim: 16
    model.init_args.backbone.hidden_size: 32
    data.init_args.batch_size: 8
    data.init_args.bptt: 16
    trainer.val_check_interval: 3
    trainer.limit_val_batches: 2
    trainer.limit_test_batches: 2
    trainer.callbacks: []
entries:
"""


def write(tmp_path: Path, entries: str) -> str:
    path = tmp_path / "suite.yaml"
    path.write_text(textwrap.dedent(HEAD) + textwrap.dedent(entries))
    return str(path)


PRETRAIN_THEN_TUNE = """\
  - name: b
    after: a
    overrides: {ckpt_path: "{a.best_checkpoint}"}
  - name: a
"""


FAILING_DEPENDENCY = """\
  - name: c
  - name: f
    overrides: {data.init_args.batch_size: 0}
  - name: g
    after: f
    overrides: {ckpt_path: "{f.best_checkpoint}"}
"""


@pytest.mark.parametrize("entries, message", [
    ("  - name: a\n    after: nope\n", "entry a: after names 'nope', which is no entry of this suite"),
    ("  - name: a\n    after: a\n", "entry a: after names the entry itself"),
    ("  - name: a\n    after: [b]\n  - name: b\n    after: [c]\n  - name: c\n    after: a\n",
     "entry a: after makes a cycle (a -> b -> c -> a)"),
    ("  - name: a\n  - name: b\n    overrides: {ckpt_path: \"{a.best_checkpoint}\"}\n",
     "entry b: overrides.ckpt_path reads {a.best_checkpoint} but 'a' is not in the entry's after"),
    ("  - name: a\n  - name: b\n    after: a\n    overrides: {ckpt_path: \"{a.run_dir}\"}\n",
     "entry b: overrides.ckpt_path: unknown placeholder field 'run_dir'"),
    ("  - name: a\n  - name: b\n    after: [a, a]\n", "after must name an entry or list distinct entries"),
    ("  - name: a\n  - name: b\n    after: {a: 1}\n", "after must name an entry or list distinct entries"),
])
def test_mistakes_are_one_line_before_anything_trains(tmp_path, entries, message):
    with pytest.raises(SeqlitError) as err:
        load_suite(write(tmp_path, entries))
    assert message in str(err.value) and str(err.value).startswith(str(tmp_path)) and "\n" not in str(err.value)


def test_after_is_no_default(tmp_path):
    path = write(tmp_path, "  - name: a\n")
    Path(path).write_text(Path(path).read_text().replace("defaults:\n", "defaults:\n  after: a\n"))
    with pytest.raises(SeqlitError, match="defaults: unknown key 'after'"):
        load_suite(path)


def test_dependencies_come_first_and_only_brings_them(tmp_path):
    suite = load_suite(write(tmp_path, PRETRAIN_THEN_TUNE + "  - name: c\n    after: [b, a]\n  - name: d\n"))
    order, added = dependencies.plan(suite.entries, suite.entries)
    assert [e.name for e in order] == ["a", "b", "c", "d"] and added == []
    order, added = dependencies.plan(suite.entries, select(suite, "c"))
    assert [e.name for e in order] == ["a", "b", "c"] and added == ["a", "b"]
    assert suite.entries[0].after == ("a",) and suite.entries[2].after == ("b", "a")


def test_placeholders_resolve_per_seed_and_a_failure_passes_on(tmp_path):
    suite = load_suite(write(tmp_path, """\
      - name: a
        seeds: [0, 1]
      - name: b
        after: a
        overrides: {model.init_args.pretrained: {char_lms: ["{a.best_checkpoint}", "x/{a.best_checkpoint}"]}}
    """))
    b = suite.entries[1]
    runs = [{"seed": 0, "status": "ok", "best_checkpoint": "/a0.ckpt"},
            {"seed": 1, "status": "ok", "best_checkpoint": "/a1.ckpt"}]
    for seed, ckpt in ((1, "/a1.ckpt"), (0, "/a0.ckpt"), (7, "/a0.ckpt"), (None, "/a0.ckpt")):  # else its first seed
        resolved, why = dependencies.resolve(b, {"a": runs}, seed)
        assert why is None and resolved.overrides["model.init_args.pretrained"] == {"char_lms": [ckpt, f"x/{ckpt}"]}
    runs[1]["status"] = "failed (exit 1)"
    assert dependencies.resolve(b, {"a": runs}, 1) == (None, "dependency a failed on seed 1")
    assert dependencies.resolve(b, {"a": [{"seed": 0, "status": "ok", "best_checkpoint": None}]}, 0) == (
        None, "dependency a left no best_checkpoint")


def test_dry_run_prints_the_order_and_the_placeholders_unresolved(tmp_path, capsys):
    benchmark(["--suite", write(tmp_path, PRETRAIN_THEN_TUNE + "  - name: c\n"), "--only", "b", "--dry_run"])
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == "[benchmark] --only b also runs a: entries it starts from (after:)"
    assert [line.split(":")[0] for line in lines[1:]] == ["a", "b"]
    assert "--ckpt_path '{a.best_checkpoint}'" in lines[2]


def test_only_trains_the_dependency_first_and_a_failed_one_stops_its_dependant(tmp_path):
    """b resumes from a's best checkpoint (its 3 steps, then 3 more); f cannot start, so g is not run."""
    path = write(tmp_path, PRETRAIN_THEN_TUNE.replace("  - name: b\n", "  - name: b\n    budget: {max_steps: 6}\n")
                 + FAILING_DEPENDENCY)
    out = tmp_path / "out"
    proc = run_seqlit("benchmark", "--suite", path, "--only", "b,g", "--out", str(out), "--wandb", "false",
                      cwd=REPO, check=False)
    assert proc.returncode == 1, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert proc.stdout.splitlines()[0] == "[benchmark] --only b,g also runs a, f: entries it starts from (after:)"
    rows = {r["name"]: r for r in results.read(str(out / "results.jsonl"))}
    assert list(rows) == ["a", "b", "f", "g"]  # c is not asked for
    assert rows["a"]["status"] == "ok" and rows["b"]["status"] == "ok" and rows["f"]["status"].startswith("failed (exit")
    assert f"--ckpt_path {rows['a']['best_checkpoint']}" in rows["b"]["command"] and rows["b"]["after"] == ["a"]
    # the fit restored a's checkpoint (results.json's ckpt_path is the one its test stage loaded, b's own best)
    b_log = (out / rows["b"]["log"]).read_text()
    assert f"Restored all states from the checkpoint at {rows['a']['best_checkpoint']}" in b_log
    b_results = json.loads((out / rows["b"]["log"].removesuffix(".log") / "results.json").read_text())
    assert b_results["global_step"] == 6 and b_results["best_checkpoint"] == rows["b"]["best_checkpoint"]
    assert rows["g"]["status"] == "failed (not run: dependency f failed)" and rows["g"]["command"] is None
    assert "g: not run, dependency f failed" in proc.stdout and "failed entries: f, g" in proc.stdout
