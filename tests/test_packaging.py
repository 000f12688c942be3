"""What an installed seqlit promises: declared dependencies for every import, one version, its licence and type
marker, the private Lightning members it leans on, and no change to the importer's matplotlib backend."""

from __future__ import annotations

import ast
import importlib
import importlib.metadata as md
import inspect
import os
import re
import subprocess
import sys
import tomllib

from tests.conftest import REPO

PACKAGES = ("seqlit", "data_modules")
# Private members of Lightning that seqlit reads, and where: pyproject caps pytorch-lightning at the minor version
# these were checked on, and this list fails loudly when a release drops one.
LIGHTNING_PRIVATE = {
    "pytorch_lightning.loops.training_epoch_loop._TrainingEpochLoop": ["_should_check_val_fx"],  # checkpoints, requeue
    "pytorch_lightning.loops.fit_loop._FitLoop": ["_data_fetcher"],
    "pytorch_lightning.trainer.trainer.Trainer": ["_run", "_accelerator_connector", "_signal_connector"],
    "pytorch_lightning.trainer.connectors.signal_connector._SignalConnector": ["_slurm_sigusr_handler_fn"],
    "pytorch_lightning.cli.LightningCLI": ["_instantiate_trainer"],
    "pytorch_lightning.callbacks.timer.Timer": ["_duration"],
    "pytorch_lightning.loggers.wandb.WandbLogger": ["_experiment", "_wandb_init", "_offline"],
    "pytorch_lightning.core.module.LightningModule": ["_trainer"],
}


def _pyproject() -> dict:
    return tomllib.loads((REPO / "pyproject.toml").read_text())


def _declared() -> set[str]:
    project = _pyproject()["project"]
    extras = project.get("optional-dependencies", {})  # seqlit/deploy imports the `export` and `serve` extras', lazily
    names = project["dependencies"] + extras.get("export", []) + extras.get("runtime", []) + extras.get("serve", [])
    return {re.split(r"[\[<>=!~ ;]", n, maxsplit=1)[0].lower().replace("_", "-") for n in names}


def _third_party_imports() -> dict[str, str]:
    """Top-level module -> a file importing it, for every import outside the standard library and seqlit."""
    found: dict[str, str] = {}
    for package in PACKAGES:
        for path in (REPO / package).rglob("*.py"):
            for node in ast.walk(ast.parse(path.read_text(), str(path))):
                if isinstance(node, ast.Import):
                    names = [a.name for a in node.names]
                elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                    names = [node.module]
                else:
                    continue
                for name in names:
                    top = name.split(".")[0]
                    if top not in sys.stdlib_module_names and top not in PACKAGES and top != "__future__":
                        found.setdefault(top, str(path.relative_to(REPO)))
    return found


def test_every_import_is_a_declared_dependency():
    distributions = md.packages_distributions()
    declared, missing = _declared(), []
    for module, where in sorted(_third_party_imports().items()):
        owners = {d.lower().replace("_", "-") for d in distributions.get(module, [])}
        if not owners & declared:
            missing.append(f"{module} (imported in {where}, from {sorted(owners) or 'no installed distribution'})")
    assert not missing, "undeclared in pyproject's dependencies: " + "; ".join(missing)


def test_the_version_is_written_once():
    project = _pyproject()["project"]
    assert "version" not in project and "version" in project["dynamic"]
    init = (REPO / "seqlit" / "__init__.py").read_text()
    assert len(re.findall(r"\d+\.\d+\.\d+", init)) == 1
    assert md.version("seqlit") == importlib.import_module("seqlit").__version__


def test_licence_and_type_marker_ship():
    assert "MIT License" in (REPO / "LICENSE").read_text()
    assert _pyproject()["project"]["license"]["text"] == "MIT"
    for package in PACKAGES:
        assert (REPO / package / "py.typed").is_file()


def test_the_private_lightning_members_seqlit_reads_exist():
    absent = []
    for dotted, members in LIGHTNING_PRIVATE.items():
        module, _, name = dotted.rpartition(".")
        owner = getattr(importlib.import_module(module), name)
        annotations = {k for c in owner.__mro__ for k in getattr(c, "__annotations__", {})}
        # instance attributes set in __init__ show in its source, not on the class
        source = "".join(inspect.getsource(c) for c in owner.__mro__ if c.__module__.startswith(("pytorch_lightning", "lightning")))
        absent += [f"{dotted}.{m}" for m in members if not hasattr(owner, m) and m not in annotations
                   and f"self.{m}" not in source]
    assert not absent, f"Lightning {md.version('pytorch-lightning')} lacks {absent}: update seqlit or the cap in pyproject"


def test_importing_and_plotting_leaves_the_matplotlib_backend_alone():
    script = ("import matplotlib; matplotlib.use('svg'); import io, torch\n"
              "from seqlit.plots import gradient_flow_figure\n"
              "import seqlit.benchmark.leaderboard, seqlit.callbacks.gradient_flow\n"
              "fig = gradient_flow_figure({'x': torch.tensor([1.0, 0.5])}); b = io.BytesIO(); fig.savefig(b, format='png')\n"
              "assert b.getvalue()[:4] == b'\\x89PNG'\n"
              "print(matplotlib.get_backend())")
    out = subprocess.run([sys.executable, "-c", script], cwd=REPO, capture_output=True, text=True, timeout=300,
                         env={**os.environ, "PYTHONPATH": str(REPO)})
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.split() == ["svg"]
