"""Security: nothing seqlit loads runs code, and no secret is ever written.

* checkpoints load with `weights_only=True`; a pickled object is refused (the unit test is
  tests/test_checkpoint_io.py::test_pickled_code_is_refused, here through the command line), and
  the class paths a checkpoint names are imported only from seqlit's own packages;
* YAML configs are loaded safely: a `!!python/…` tag is refused and runs nothing;
* a W&B API key in the environment appears in none of the files a run writes (config,
  checkpoints, logs, the offline W&B run) nor in its output;
* prediction treats untrusted text as text: code, shell, YAML or pickle payloads execute nothing.
"""

from __future__ import annotations

import ast
import json
import sys
from pathlib import Path

import pytest
import torch

from tests.conftest import REPO, run_seqlit
from tests.sentiment.corpus import make_sst_dir
from tests.test_bad_input import QUIET, SMALL_SST, nothing_written, one_line_error, seqlit
from tests.test_checkpoint_io import Boom

SECRET = "seqlit-fake-secret-9f8e7d6c5b4a39281706"
SST = str(REPO / "configs" / "sentiment" / "sst2_bigru.yaml")
QUICK = str(REPO / "configs" / "quickstart.yaml")


# -- checkpoints ---------------------------------------------------------------------------------

def test_every_torch_load_is_weights_only():
    """No code path of the package unpickles arbitrary objects: every `torch.load(...)` passes weights_only=True."""
    calls = []
    for path in [*(REPO / "seqlit").rglob("*.py"), *(REPO / "data_modules").rglob("*.py")]:
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "load" \
                    and isinstance(node.func.value, ast.Name) and node.func.value.id == "torch":
                safe = any(k.arg == "weights_only" and isinstance(k.value, ast.Constant) and k.value.value is True
                           for k in node.keywords)
                calls.append((f"{path.name}:{node.lineno}", safe))
    assert calls, "torch.load is called somewhere (seqlit/io/checkpoints.py)"
    assert all(safe for _, safe in calls), calls


def test_pickled_checkpoint_is_refused_by_the_cli(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # Boom writes pwned.txt into the working directory if it ever runs
    evil = tmp_path / "evil.ckpt"
    torch.save({"state_dict": {}, "hyper_parameters": {"x": Boom()}}, evil)
    cwd = tmp_path / "cwd"
    cwd.mkdir()
    for command in (["test", "--ckpt_path", str(evil)], ["generate", "--ckpt_path", str(evil)]):
        one_line_error(seqlit(*command, cwd=cwd), str(evil), "holds Python objects", "could run code")
    assert not list(tmp_path.rglob("pwned.txt"))
    nothing_written(cwd)


def test_checkpoint_naming_a_foreign_class_imports_nothing(tmp_path):
    """A plain-data checkpoint can still name a class; importing its module would run that module's code."""
    assert "this" not in sys.modules  # `import this` prints the Zen of Python: a visible side effect
    ckpt = tmp_path / "foreign.ckpt"
    torch.save({"state_dict": {}, "hyper_parameters": {"_class_path": "this.Zen"},
                "datamodule_hyper_parameters": {"_class_path": "data_modules.SentimentData"}}, ckpt)
    for command in ("test", "generate"):
        run = seqlit(command, "--ckpt_path", str(ckpt), cwd=tmp_path)
        one_line_error(run, "names the class 'this.Zen'", "imports no other module")
        assert "Beautiful is better" not in run.out
    assert "this" not in sys.modules


# -- YAML ------------------------------------------------------------------------------------------

def test_yaml_python_tags_are_refused(tmp_path):
    pwned = tmp_path / "PWNED"
    evil = tmp_path / "evil.yaml"
    evil.write_text("model:\n  class_path: seqlit.tasks.LanguageModel\n  init_args:\n"
                    f"    hidden_size: !!python/object/apply:os.system [\"touch {pwned}\"]\n", encoding="utf-8")
    run = seqlit("fit", "--config", QUICK, "--config", str(evil), cwd=tmp_path)
    one_line_error(run, "could not determine a constructor for the tag", "python/object/apply:os.system")
    assert not pwned.exists()


# -- secrets and untrusted text --------------------------------------------------------------------------

@pytest.fixture(scope="module")
def fitted(tmp_path_factory) -> tuple[Path, str]:
    """A tiny sentiment fit, a real process with the default W&B logger (offline) and an API key in the environment.

    WANDB_BASE_URL points at a closed local port: offline, W&B must not need the network at all.
    """
    folder = tmp_path_factory.mktemp("secret")
    data = make_sst_dir(folder / "sst", n_train=40)
    proc = run_seqlit("fit", "--config", SST, "--data.init_args.path", str(data), *SMALL_SST,
                      "--trainer.max_steps", "2", "--trainer.max_epochs", "1", "--trainer.max_time", "null",
                      "--trainer.limit_val_batches", "1", "--trainer.enable_progress_bar", "false",
                      "--trainer.callbacks", "null", "--test_after_fit", "false", cwd=folder,
                      env={"WANDB_API_KEY": SECRET, "WANDB_BASE_URL": "http://127.0.0.1:9", "WANDB_MODE": "offline"})
    return folder, proc.stdout + proc.stderr


def test_api_key_is_written_nowhere(fitted):
    folder, output = fitted
    runs = list((folder / "runs" / "wandb").glob("offline-run-*"))
    assert len(runs) == 1 and any(p.is_file() for p in runs[0].rglob("*")), "the offline W&B run was written"
    written = [p for p in (folder / "runs").rglob("*") if p.is_file()]
    assert any(p.name == "config.yaml" for p in written) and any(p.suffix == ".ckpt" for p in written)
    leaks = [str(p) for p in written if SECRET.encode() in p.read_bytes()]
    assert not leaks, leaks
    assert SECRET not in output


UNTRUSTED = [
    "__import__('os').system('touch PWNED')",
    "{{ __import__('os').system('touch PWNED') }}",
    "$(touch PWNED) `touch PWNED` ; touch PWNED",
    '!!python/object/apply:os.system ["touch PWNED"]',
    "cos\\nsystem\\n(S'touch PWNED'\\ntR.",  # a protocol-0 pickle of os.system("touch PWNED"), as text
    "a truly wonderful film",
]


def test_prediction_on_untrusted_text_executes_nothing(fitted, tmp_path):
    folder, _ = fitted
    ckpt = next((folder / "runs").rglob("last.ckpt"))
    raw = tmp_path / "untrusted.txt"
    raw.write_text("\n".join(UNTRUSTED) + "\n", encoding="utf-8")
    run = seqlit("predict", "--ckpt_path", str(ckpt), "--data.init_args.predict_file", str(raw),
                 "--predict_output", "out.jsonl", *QUIET[:6], cwd=tmp_path)
    assert run.code == 0, run.err[-3000:]
    records = [json.loads(line) for line in (tmp_path / "out.jsonl").read_text(encoding="utf-8").splitlines()]
    assert [r["text"] for r in records] == UNTRUSTED  # read and returned as text, nothing else
    assert all(set(r["probs"]) == {"negative", "positive"} for r in records)
    assert not list(tmp_path.rglob("PWNED")) and not list(REPO.glob("PWNED"))
