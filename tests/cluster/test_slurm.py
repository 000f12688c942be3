"""configs/cluster/slurm.sbatch itself, submitted with sbatch to a real SLURM (one node, 2 CPUs, 2 tasks, gloo).

1. The job trains and checkpoints, and its weights and best validation score equal the same run started
   locally with Lightning's own DDP launcher (configs/cluster/ddp.yaml, 2 CPU processes).
2. Pre-emption: a second job is signalled with `scancel --signal=USR1` (the signal the sbatch's `--signal`
   sends before the time limit) mid-epoch, while its ranks are at different points of a step
   (tests/cluster/pace.py); the hpc checkpoint is written and the job requeued; the requeued start resumes
   from it and ends with the uninterrupted job's weights and scores. With Lightning's own handler, which saves
   inside the signal handler, this job hangs (seqlit/callbacks/requeue.py).

The cluster (munged, slurmctld, slurmd) is started by tests/cluster/slurm_cluster.py from Debian's packages,
which .ci/run installs; without them the test skips, except in CI, where it fails.
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

import pytest
import torch

from tests.cluster.slurm_cluster import SlurmCluster, missing_binaries
from tests.conftest import REPO, run_seqlit

MISSING = missing_binaries()
IN_CI = os.environ.get("CI") == "true"
pytestmark = pytest.mark.skipif(bool(MISSING) and not IN_CI,
                                reason=f"SLURM is not installed ({', '.join(MISSING)} missing); .ci/run installs it")

STEPS, SIGNAL_FROM = 30, 4   # the last step, and the step from which the pre-empted job is paced and signalled
# The task config's own model; only the data (a small text, short windows) and the step budget are made small.
TASK = str(REPO / "configs/quickstart.yaml")
RUN = ["--data.init_args.batch_size", "2", "--data.init_args.eval_batch_size", "2", "--data.init_args.bptt", "16",
       "--trainer.max_steps", str(STEPS), "--trainer.max_time", "null", "--trainer.limit_val_batches", "2", "--trainer.val_check_interval", "6",
       "--trainer.log_every_n_steps", "1", "--test_after_fit", "false", "--num_threads", "1",
       "--trainer.enable_progress_bar", "false", "--trainer.enable_model_summary", "false"]
# what makes the GPU cluster script a one-node, 2-task CPU job; the rest of the script is used as it is
CPU_JOB = ["--nodes=1", "--ntasks-per-node=2", "--gpus-per-node=0", "--cpus-per-task=1", "--time=00:10:00"]
CPU_RUN = ["--trainer.accelerator", "cpu", "--trainer.devices", "2", "--trainer.num_nodes", "1"]
JOB_TIMEOUT = 240


def job_env() -> dict[str, str]:
    """This interpreter first on PATH (the script runs `python`), offline, one thread per process."""
    return {"PATH": os.pathsep.join([os.path.dirname(sys.executable), os.environ.get("PATH", "")]),
            "PYTHONPATH": str(REPO), "OMP_NUM_THREADS": "1", "WANDB_MODE": "offline", "WANDB_SILENT": "true",
            "HF_DATASETS_OFFLINE": "1", "HF_HUB_OFFLINE": "1"}


@pytest.fixture(scope="module")
def cluster():
    if MISSING:
        pytest.fail(f"CI must run the SLURM test, but {', '.join(MISSING)} are missing: .ci/run installs "
                    "slurmctld slurmd slurm-client munge")
    with SlurmCluster(cpus=2) as c:
        yield c


@pytest.fixture(scope="module")
def corpus(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("slurm-data") / "corpus.txt"
    path.write_text("".join(f"the cat {i % 7} sat on the mat {i % 5}.\n" for i in range(60)))
    return path


def submit(cluster: SlurmCluster, out: Path, corpus: Path, *extra: str) -> tuple[str, Path]:
    """sbatch configs/cluster/slurm.sbatch (from the repository root, as documented), everything written under `out`."""
    out.mkdir(parents=True)
    job = cluster.sbatch(*CPU_JOB, f"--output={out}/job-%j.out", str(REPO / "configs/cluster/slurm.sbatch"),
                         TASK, *RUN, "--data.init_args.path", str(corpus), *CPU_RUN,
                         "--trainer.default_root_dir", str(out / "root"),
                         "--trainer.logger.init_args.save_dir", str(out / "runs"), *extra,
                         cwd=REPO, env=job_env())
    return job, out


def job_output(out: Path) -> str:
    return "\n".join(p.read_text(errors="replace") for p in sorted(out.glob("job-*.out")))


def finished(cluster: SlurmCluster, job: str, out: Path) -> dict[str, str]:
    info = cluster.wait_job(job, ("COMPLETED", "FAILED", "CANCELLED", "TIMEOUT", "NODE_FAIL", "OUT_OF_MEMORY"),
                            JOB_TIMEOUT)
    assert info["JobState"] == "COMPLETED", f"job {job}: {info['JobState']} {info.get('ExitCode')}\n{job_output(out)[-6000:]}"
    return info


def last_checkpoint(folder: Path) -> dict:
    (path,) = folder.glob("**/checkpoints/last.ckpt")
    return torch.load(path, map_location="cpu", weights_only=True)


def best_score(ckpt: dict) -> float:
    """The best validation score the run's checkpoint callback holds (whatever its class: its state has one)."""
    (state,) = [v for v in ckpt["callbacks"].values() if isinstance(v, dict) and v.get("best_model_score") is not None]
    return float(state["best_model_score"])


def assert_same_run(ours: dict, theirs: dict, what: str) -> None:
    assert ours["global_step"] == theirs["global_step"] == STEPS, (what, ours["global_step"], theirs["global_step"])
    assert best_score(ours) == best_score(theirs), f"{what}: best score {best_score(ours)} vs {best_score(theirs)}"
    assert ours["state_dict"].keys() == theirs["state_dict"].keys()
    differ = [k for k, v in ours["state_dict"].items() if not torch.equal(v, theirs["state_dict"][k])]
    assert not differ, f"{what}: weights differ in {differ}"


@pytest.fixture(scope="module")
def uninterrupted(cluster, corpus, tmp_path_factory) -> dict:
    job, out = submit(cluster, tmp_path_factory.mktemp("slurm") / "plain", corpus)
    finished(cluster, job, out)
    log = job_output(out)
    assert "Initializing distributed: GLOBAL_RANK: 1, MEMBER: 2/2" in log, log[-3000:]
    return last_checkpoint(out / "runs")


def test_sbatch_job_equals_local_ddp_run(uninterrupted, corpus, tmp_path):
    run_seqlit("fit", "--config", TASK, "--config", str(REPO / "configs/cluster/ddp.yaml"), *RUN, "--data.init_args.path", str(corpus),
               "--trainer.accelerator", "cpu", "--trainer.devices", "2", "--trainer.default_root_dir", str(tmp_path / "root"),
               "--trainer.logger.init_args.save_dir", str(tmp_path / "runs"), cwd=REPO, env={"OMP_NUM_THREADS": "1"})
    assert_same_run(uninterrupted, last_checkpoint(tmp_path / "runs"), "SLURM job vs local run")


def test_preempted_job_requeues_and_resumes_to_the_same_end(cluster, uninterrupted, corpus, tmp_path):
    marker = tmp_path / "reached"
    job, out = submit(cluster, tmp_path / "preempted", corpus, "--trainer.callbacks+=tests.cluster.pace.PaceRankOne",
                      "--trainer.callbacks.step", str(SIGNAL_FROM), "--trainer.callbacks.marker", str(marker))
    deadline = time.monotonic() + JOB_TIMEOUT
    while not marker.exists():
        assert time.monotonic() < deadline, f"the job never reached step {SIGNAL_FROM}\n{job_output(out)[-4000:]}"
        assert cluster.job(job).get("JobState") in ("PENDING", "RUNNING"), job_output(out)[-4000:]
        time.sleep(0.2)
    cluster.run("scancel", "--signal=USR1", job)
    info = finished(cluster, job, out)
    log = job_output(out)
    assert int(info["Restarts"]) == 1, (info["Restarts"], log[-4000:])
    assert "Handling auto-requeue signal" in log and "start 1," in log, log[-4000:]
    hpc = torch.load(out / "root" / "hpc_ckpt_1.ckpt", map_location="cpu", weights_only=True)
    assert SIGNAL_FROM <= hpc["global_step"] < STEPS, hpc["global_step"]
    assert "Restored all states from the checkpoint" in log.split("start 1,")[1], log[-4000:]
    assert_same_run(last_checkpoint(out / "runs"), uninterrupted, "pre-empted and requeued vs uninterrupted job")
