"""Every task config × every cluster config, and every entry of configs/benchmarks/gpu.yaml, trains on this CPU.

Each run is the config as written (its model, its gradient clipping, the cluster config's bf16-mixed precision
and strategy), with only what a CPU needs changed (`accelerator: cpu`, one device) and the work made tiny:
2 optimizer steps, one validation batch, small batches of a small slice of the real data (the shared data
folder's parquet splits cut to their first rows; the generated corpora drawn small). Sizes are shrunk through
data keys only (`SHRINK`), never model keys, so the models are the configs' own.

What is covered elsewhere: several processes (tests/ddp, test_two_nodes.py) and a real SLURM (test_slurm.py).
Here `ddp.yaml` runs its DDP strategy with one process, and `slurm.yaml` its SLURMEnvironment under the
variables a one-task job sets.

A case this machine cannot run is skipped with the reason seqlit gives, and only that: the bf16-mixed of the
cluster configs on a CPU without bf16 LSTM kernels (seqlit/run/precision.py; AVX2-only CPUs).

The runs are in this process (`seqlit.cli.main.main`), which saves the interpreter's start-up per run; the
process group, the environment and the working directory are restored after each.
"""

from __future__ import annotations

import glob
import os
import sys
from pathlib import Path

import pyarrow.parquet as pq
import pytest
import torch
import torch.distributed as dist

import yaml

from seqlit.benchmark.runner import fit_command
from seqlit.benchmark.suite import load_suite
from seqlit.cli.main import main
from tests.cluster.slurm_cluster import free_port
from tests.conftest import REPO, SHARED_DATA, needs_shared_data

TASK_CONFIGS = {
    **{str(p.relative_to(REPO)): [str(p)] for p in sorted(REPO.glob("configs/*/*.yaml"))
       if p.parent.name not in ("cluster", "benchmarks", "agreement")
       # these need language-model checkpoints made first (and gradual unfreezing runs without DDP only: one line
       # says so): tests/transfer/test_end_to_end.py trains sst2_bilstm_ulmfit.yaml with one, and
       # tests/transfer/test_recipes.py the configs/transfer/ recipes from their pretraining entries' checkpoints
       and p.name not in ("sst2_bilstm_ulmfit.yaml", "conll2003_charlm.yaml", "sst2_carved_ulmfit.yaml",
                          "sst2_carved_charlm.yaml", "sst2_text_lm.yaml")},
    "configs/quickstart.yaml": [str(REPO / "configs/quickstart.yaml")],
    # the agreement configs compose: base.yaml plus one backbone file
    **{f"configs/agreement/{k}.yaml": [str(REPO / "configs/agreement/base.yaml"), str(REPO / f"configs/agreement/{k}.yaml")]
       for k in ("rnn", "gru", "lstm")},
}


CLUSTER_CONFIGS = sorted(p.name for p in (REPO / "configs/cluster").glob("*.yaml"))
GPU_SUITE = load_suite(str(REPO / "configs/benchmarks/gpu.yaml"))

# The one place that makes runs small: data keys, by data module (they stay where they are when models change).
SHRINK = {
    # 256 tokens a step: under DDP every adaptive-softmax cluster must get a gradient each step, and with fewer
    # tokens a step may hold no word of the rarest cluster (DDP then stops: "parameters that were not used")
    "LanguageModelingData": {"batch_size": 4, "eval_batch_size": 2, "bptt": 64},
    "TaggingData": {"batch_size": 4, "eval_batch_size": 4},
    "SentimentData": {"batch_size": 4, "eval_batch_size": 4},
    "TranslationData": {"batch_size": 4, "eval_batch_size": 4},
    "DatesData": {"batch_size": 4, "eval_batch_size": 4, "train_size": 64, "val_size": 16, "test_size": 16},
    "AgreementData": {"batch_size": 4, "eval_batch_size": 4, "train_size": 64, "val_size": 16, "test_size": 16},
    "ConditionalData": {"batch_size": 4, "eval_batch_size": 4, "min_turns": 1, "block_turns": 5},
}
TINY_RUN = {"trainer.max_steps": 2, "trainer.max_time": None, "trainer.max_epochs": None,
            "trainer.limit_val_batches": 1, "trainer.val_check_interval": 1, "trainer.num_sanity_val_steps": 0,
            "trainer.enable_progress_bar": False, "trainer.enable_model_summary": False, "test_after_fit": False}
ON_CPU = {"trainer.accelerator": "cpu", "trainer.devices": 1}
# What srun sets for a one-task job; SLURMEnvironment reads the world from it.
ONE_TASK_SLURM_JOB = {"SLURM_NTASKS": "1", "SLURM_NTASKS_PER_NODE": "1", "SLURM_PROCID": "0", "SLURM_LOCALID": "0",
                      "SLURM_NODEID": "0", "SLURM_JOB_ID": "4242", "SLURM_JOB_NAME": "seqlit",
                      "SLURM_NODELIST": "localhost", "SLURM_JOB_NUM_NODES": "1"}
# first rows of each parquet split (sentences, or lines of text); WikiText-2 needs enough lines for a vocabulary
# above the configs' adaptive-softmax cutoffs (5000 words)
ROWS = {"wikitext-2": 1000}
DEFAULT_ROWS = 160


def fit_unless_hardware_lacks(argv: list[str], capsys) -> None:
    """`main(argv)`; skipped, with seqlit's line as the reason, only where the precision probe finds that this
    machine cannot run the configs' bf16-mixed (seqlit/run/precision.py: an AVX2-only CPU's LSTM); any other
    failure fails the test."""
    try:
        main(argv)
    except SystemExit as stop:
        err = capsys.readouterr().err
        line = next((l for l in err.splitlines() if "cannot run on this device" in l), None)
        if stop.code == 2 and line is not None:
            pytest.skip(f"this machine lacks what the config needs: {line}")
        sys.stderr.write(err)
        raise


def args(overrides: dict) -> list[str]:
    out = []
    for key, value in overrides.items():
        value = "null" if value is None else str(value).lower() if isinstance(value, bool) else str(value)
        out += [f"--{key}", value]
    return out


def data_section(configs: list[str]) -> tuple[str, dict]:
    """The data module's class name and init_args the composed configs give."""
    class_path, init = None, {}
    for path in configs:
        data = (yaml.safe_load(Path(path).read_text()) or {}).get("data") or {}
        class_path = data.get("class_path", class_path)
        init.update(data.get("init_args") or {})
    return class_path.rsplit(".", 1)[-1], init


@pytest.fixture(scope="module")
def small_data(tmp_path_factory) -> Path:
    """The shared data folder's splits cut to their first ROWS rows, in the same layout, plus a Multi30k-shaped
    stand-in (the real one is a hub download): aligned German/English lines."""
    root = tmp_path_factory.mktemp("small-data")
    for corpus in ("conll2003", "sst2", "wikitext-2"):
        (root / corpus).mkdir()
        for split in (SHARED_DATA / corpus).glob("*.parquet"):
            pq.write_table(pq.read_table(split).slice(0, ROWS.get(corpus, DEFAULT_ROWS)), root / corpus / split.name)
    (root / "tiny_shakespeare").mkdir()
    text = (SHARED_DATA / "tiny_shakespeare" / "input.txt").read_text()
    # the opening, and a stretch where ROMEO speaks (the speaker-conditioned config samples as him)
    romeo = text.index("ROMEO:")
    (root / "tiny_shakespeare" / "input.txt").write_text(text[:20_000] + text[romeo:romeo + 20_000])
    multi30k = root / "multi30k"
    multi30k.mkdir()
    animals = [("hund", "dog"), ("katze", "cat"), ("pferd", "horse"), ("vogel", "bird")]
    verbs = [("läuft", "runs"), ("schläft", "sleeps"), ("springt", "jumps")]
    pairs = [(f"ein {a} {v} .", f"a {b} {w} .") for a, b in animals for v, w in verbs]
    for split, n in (("train", 4), ("val", 1), ("test", 1)):
        (multi30k / f"{split}.de").write_text("".join(de + "\n" for de, _ in pairs * n))
        (multi30k / f"{split}.en").write_text("".join(en + "\n" for _, en in pairs * n))
    return root


def small_path(path: str | None, small_data: Path) -> str | None:
    """Where the small copy of the config's data is (None: the data is generated or embedded; keep it)."""
    if path is None or path.startswith("embedded:"):
        return None
    if path == "bentrevett/multi30k":
        return str(small_data / "multi30k")
    shared = "../shared/data/"
    assert path.startswith(shared), f"a task config reads data from {path!r}: give this test a small copy of it"
    return str(small_data / path[len(shared):])


@pytest.fixture
def isolated(monkeypatch, tmp_path):
    """A run in this process, from the repository root (configs name paths relative to it), leaving nothing behind."""
    monkeypatch.chdir(REPO)
    monkeypatch.setattr(sys, "argv", ["seqlit"])
    saved_env, threads = dict(os.environ), torch.get_num_threads()
    yield tmp_path
    if dist.is_initialized():
        dist.destroy_process_group()
    os.environ.clear()
    os.environ.update(saved_env)
    torch.set_num_threads(threads)


def trained(out: Path) -> dict:
    """The config the run saved, after checking that its last checkpoint took the steps asked for."""
    (last,) = glob.glob(str(out / "**" / "last.ckpt"), recursive=True)
    ckpt = torch.load(last, map_location="cpu", weights_only=True)
    assert ckpt["global_step"] == TINY_RUN["trainer.max_steps"], ckpt["global_step"]
    (config,) = glob.glob(str(out / "**" / "config.yaml"), recursive=True)
    return yaml.safe_load(Path(config).read_text())


def lookup(config: dict, dotted: str):
    """`config[a][b]…` for "a.b…", stepping into a component's `init_args` as the CLI's dotted keys do."""
    for part in dotted.split("."):
        if part not in config and "init_args" in config:
            config = config["init_args"]
        config = config[part]
    return config


@needs_shared_data
@pytest.mark.parametrize("cluster", CLUSTER_CONFIGS)
@pytest.mark.parametrize("task", sorted(TASK_CONFIGS))
def test_task_config_trains_with_cluster_config(task, cluster, small_data, isolated, monkeypatch, capsys):
    configs = [*TASK_CONFIGS[task], str(REPO / "configs/cluster" / cluster)]
    kind, init = data_section(configs)
    data = {f"data.init_args.{k}": v for k, v in SHRINK[kind].items()}
    if init.get("carve_validation"):  # the small SST-2 copy holds a few hundred whole sentences, not 872
        data["data.init_args.carve_validation"] = 8
    path = small_path(init.get("path"), small_data)
    if path:
        data["data.init_args.path"] = path
    cluster_yaml = yaml.safe_load((REPO / "configs/cluster" / cluster).read_text())["trainer"]
    extra = {**ON_CPU, "trainer.num_nodes": 1} if "num_nodes" in cluster_yaml else ON_CPU
    if "plugins" in cluster_yaml:
        for key, value in ONE_TASK_SLURM_JOB.items():
            monkeypatch.setenv(key, value)
        # SLURMEnvironment's port is 15000 + the job id's last digits unless MASTER_PORT is set: one fixed job id
        # would make two pytest-xdist workers listen on the same port at once (EADDRINUSE)
        monkeypatch.setenv("MASTER_PORT", str(free_port()))
    fit_unless_hardware_lacks(["fit", *(a for c in configs for a in ("--config", c)), *args({**data, **TINY_RUN, **extra}),
                               "--trainer.logger", "false", "--trainer.default_root_dir", str(isolated)], capsys)
    trainer = trained(isolated)["trainer"]
    assert trainer["gradient_clip_val"], f"{task} does not clip gradients"
    assert trainer["precision"] == cluster_yaml["precision"] == "bf16-mixed"
    assert trainer["strategy"] == cluster_yaml.get("strategy", "auto")


@needs_shared_data
@pytest.mark.parametrize("entry", [pytest.param(e, id=e.name) for e in GPU_SUITE.entries])
def test_gpu_benchmark_entry_trains_on_cpu(entry, small_data, isolated, capsys):
    """The benchmark runner's own command for the entry (its configs, data, overrides, budget), on CPU and tiny."""
    cmd = fit_command(entry, str(isolated), "0", data_root=str(small_data) if entry.data else None)
    kind, _ = data_section(list(entry.configs))
    shrink = {f"data.init_args.{k}": v for k, v in SHRINK[kind].items()}
    fit_unless_hardware_lacks([*cmd[3:], *args({**shrink, **TINY_RUN, **ON_CPU})], capsys)
    config = trained(isolated)
    assert config["trainer"]["gradient_clip_val"], f"{entry.name} does not clip gradients"
    assert entry.overrides.get("trainer.precision") == "bf16-mixed"
    for key, value in entry.overrides.items():  # the entry's own overrides, and the suite's, reached the run
        if key not in ON_CPU:
            assert lookup(config, key) == value, (key, lookup(config, key), value)
