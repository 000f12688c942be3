"""Shared test fixtures: offline everything, the shared data folder, a way to run the CLI, and the test tiers.

Two tiers. `make check` runs the fast one (`-m "not slow"`: unit tests and one CLI smoke test per task, a few
minutes on two cores) for the edit-test loop; `make test`, what CI runs, runs everything. A test is slow when it
trains for real, spawns several processes (DDP, SLURM, torchrun), or repeats a CLI run the smoke tests already
make; `SLOW` below names them by file (or file::test), in one place, so the tiers are read here and not guessed
from markers scattered over the tree. `@pytest.mark.slow` on a test does the same.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = REPO.parent / "shared" / "data"

os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("WANDB_MODE", "offline")

needs_shared_data = pytest.mark.skipif(
    not SHARED_DATA.is_dir(), reason=f"shared data folder {SHARED_DATA} is absent (CI always has it)"
)


# path prefixes (relative to tests/) of the slow tier; everything else is in the fast tier
SLOW = (
    "benchmark/test_dependencies.py", "benchmark/test_end_to_end.py", "benchmark/test_gpu_checks_script.py",
    "cli/test_backend_switch.py", "cli/test_bad_config.py", "cli/test_evaluation_runs.py", "cli/test_predict_output.py",
    "cli/test_quiet.py", "cli/test_resume_run.py", "cli/test_root_dir.py", "cli/test_wandb_online.py",
    "cli/test_weight_averaging.py", "cli/test_help.py::test_each_listed_command_has_its_own_help",
    "cluster/", "ddp/", "faults/", "tasks/test_lm_streaming_ddp.py", "tasks/test_lm_streaming_resume.py", "tasks/test_task_streaming_resume.py", "resume/test_kill_resume.py", "transfer/test_char_lm.py", "transfer/test_end_to_end.py",
    "transfer/test_recipes.py", "test_readme.py", "test_load_from_checkpoint.py", "test_legacy_checkpoints.py",
    "conditional/test_conditional_legacy.py", "conditional/test_condition_fields_cli.py",
    # the smoke tests keep one CLI run per task: tagging, sentiment and translation's dates (tagging/, sentiment/,
    # translation/test_*_cli.py, through seqlit.cli.main in the test process), the LM's fit/test/generate
    # (cli/test_fit_test_generate.py, processes), the conditional LM's fit (conditional/test_conditional_cli.py)
    "conditional/test_conditional_cli.py::test_generate", "conditional/test_conditional_cli.py::test_a_",
    "conditional/test_conditional_cli.py::test_speaker", "conditional/test_conditional_cli.py::test_agreement",
    "conditional/test_conditional_cli.py::test_cpu_suite", "translation/test_translation_cli.py::test_multi30k",
    "translation/test_translation_cli.py::test_dates_configs", "cli/test_fit_test_generate.py::test_resume",
    # streaming tagging/sentiment: ~10 s each on the 2-core machine (datasets' stream setup per loader)
    "data/test_task_streaming.py::test_streaming_", "data/test_task_streaming.py::test_training_",
    "data/test_task_streaming.py::test_ranks_", "data/test_task_streaming.py::test_a_mid_epoch",
    "data/test_task_streaming.py::test_vocab_max_rows",
    "deploy/test_runtime_venv.py",  # a fresh venv, pip install numpy onnxruntime from the registry
    "deploy/test_onnx.py::test_export_command_format_onnx",  # two CLI processes, ~22 s (the API is tested fast)
    "tasks/test_task_from_outside.py",  # five CLI processes, a benchmark among them
    # a server process each, 8-15 s (the bad requests, a bad folder and --help stay fast)
    "deploy/test_serve.py::test_records_", "deploy/test_serve.py::test_sigterm_", "deploy/test_serve.py::test_a_",
    "benchmark/test_serve_load_script.py::test_a_tiny_run",  # eight server processes, ~45 s
    # CLI runs beyond the smoke tests, 10-38 s each on the loaded 2-core machine (/tmp/lt-fast-durations.log);
    # the fast tier keeps their unit-level neighbours (the option's own tests, the API's export, the README check)
    "cli/test_run_settings.py::test_evaluation_runs_with_the_checkpoints_threads",  # a fit and three tests
    "cli/test_readme_resume.py::test_the_readme_resume_continues",  # a fit and two resumes
    "cli/test_results_figures.py",  # a fit and its test, twice
    "cli/test_wandb_run.py::test_offline_true_still_logs",  # a second fit (the module's run stays fast)
    "sentiment/test_subword.py::test_fit_then_predict_raw_text",  # a fit and a predict
    "deploy/test_folder.py::test_export_command",  # three export processes
)


def pytest_collection_modifyitems(config, items):
    for item in items:
        where = item.nodeid.removeprefix("tests/")
        if where.startswith(SLOW):
            item.add_marker(pytest.mark.slow)


def run_seqlit(*args: str, cwd: Path, check: bool = True, env: dict | None = None) -> subprocess.CompletedProcess:
    """`python -m seqlit ARGS` in `cwd`, offline, with the repository importable."""
    full_env = {**os.environ, "PYTHONPATH": str(REPO), "WANDB_MODE": "offline", "WANDB_SILENT": "true",
                "HF_DATASETS_OFFLINE": "1", "HF_HUB_OFFLINE": "1", **(env or {})}
    proc = subprocess.run([sys.executable, "-m", "seqlit", *args], cwd=cwd, env=full_env,
                          capture_output=True, text=True, timeout=600)
    if check and proc.returncode != 0:
        raise AssertionError(f"seqlit {' '.join(args)} failed ({proc.returncode}):\n{proc.stdout[-3000:]}\n{proc.stderr[-5000:]}")
    return proc


@pytest.fixture
def tiny_corpus(tmp_path: Path) -> Path:
    """A small deterministic English-like text file (one split: the data module cuts 90/5/5)."""
    subjects = ["the cat", "the dog", "a bird", "my friend", "the teacher", "our neighbour"]
    verbs = ["sees", "likes", "follows", "watches", "finds", "helps"]
    objects = ["the ball", "a tree", "the house", "the river", "a small boat", "the garden"]
    lines = [f"{subjects[i % 6]} {verbs[(i // 6) % 6]} {objects[(i // 36) % 6]} ." for i in range(600)]
    path = tmp_path / "corpus.txt"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


BACKBONE_KEYS = ("kind", "backend", "hidden_size", "num_layers", "bidirectional", "nonlinearity",
                 "keep_bias", "orthogonal_init", "weight_dropout")


def with_backbone(task, **kwargs) -> dict:
    """A task's keyword arguments with the backbone options (`kind=`, `hidden_size=` …) gathered into its
    `backbone` dict, over the task's own default backbone."""
    import inspect

    default = inspect.signature(task).parameters["backbone"].default
    backbone = dict(default["init_args"])
    backbone.update({k: kwargs.pop(k) for k in list(kwargs) if k in BACKBONE_KEYS})
    return kwargs | {"backbone": {"class_path": default["class_path"], "init_args": backbone}}
