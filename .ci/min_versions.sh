#!/usr/bin/env bash
# CI: the fast tier against the declared minimum versions, so pyproject's floors stay true.
# A fresh venv gets torch==2.13.0 (the CPU wheel on the project's machines: an older torch from PyPI is a
# multi-GB CUDA build, so torch's floor is stated, not installed), then the project with every other direct
# dependency ([project] dependencies and the dev extra) pinned to its floor: constraints generated from pyproject.
set -euo pipefail
cd "$(dirname "$0")/.."
export CI=true HF_DATASETS_OFFLINE=1 HF_HUB_OFFLINE=1 WANDB_MODE=offline
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
export HF_HOME="$scratch/hf" WANDB_DIR="$scratch/wandb" WANDB_CACHE_DIR="$scratch/wandb-cache" WANDB_CONFIG_DIR="$scratch/wandb-config" WANDB_DATA_DIR="$scratch/wandb-data"

start=$(date +%s)
python3 -m venv "$scratch/venv"
py="$scratch/venv/bin/python"
pip=("$py" -m pip install --quiet --disable-pip-version-check)
"${pip[@]}" torch==2.13.0 packaging
# name==floor for every ">=" bound except torch's (installed above); extras dropped, constraints cannot carry them
"$py" - pyproject.toml >"$scratch/constraints.txt" <<'PY'
import sys, tomllib
from packaging.requirements import Requirement

project = tomllib.load(open(sys.argv[1], "rb"))["project"]
for line in project["dependencies"] + project["optional-dependencies"]["dev"]:
    req = Requirement(line)
    floors = [s.version for s in req.specifier if s.operator == ">="]
    if req.name != "torch" and floors:
        print(f"{req.name}=={floors[0]}")
PY
echo "CI: floors pinned:" $(cat "$scratch/constraints.txt")
"${pip[@]}" -c "$scratch/constraints.txt" -e ".[dev]"
echo "CI: installed at the floors in $(( $(date +%s) - start ))s"
"$py" -m pytest -q -m "not slow" -n auto --dist worksteal
echo "CI: fast tier at the floors passed in $(( $(date +%s) - start ))s (install included)"
