"""Shared test fixtures: offline everything, the shared data folder, and a way to run the CLI."""

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
