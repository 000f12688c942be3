"""A one-node SLURM cluster on this machine, for tests: munged, slurmctld and slurmd from Debian's packages.

Everything lives in one temporary folder (keys, sockets, state, spool, logs) and on free ports, so it
neither needs nor touches a system-wide configuration (/etc/slurm, /etc/munge, /run/munge). The
settings are those a container without systemd or writable cgroups allows: processes are tracked through
/proc (`proctrack/linuxproc`), tasks are not bound (`task/none`), no accounting. Daemons run as root (the
SlurmUser) except munged, which runs as the `munge` user its package creates.

`SlurmCluster.start()` waits (bounded) until the node is idle; `stop()` cancels leftover jobs, ends every
daemon it started and removes the folder. Every wait has a timeout: a daemon that does not come up raises with its log.
"""

from __future__ import annotations

import os
import pwd
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path

DAEMONS = ("munged", "slurmctld", "slurmd")
CLIENTS = ("sbatch", "squeue", "scontrol", "scancel", "srun")


def missing_binaries() -> list[str]:
    """The SLURM/munge programs this harness needs that are not installed (daemons live in /usr/sbin)."""
    path = os.pathsep.join([os.environ.get("PATH", ""), "/usr/sbin", "/sbin"])
    return [b for b in (*DAEMONS, *CLIENTS) if shutil.which(b, path=path) is None]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def slurm_conf(root: Path, node: str, cpus: int, ctld_port: int, slurmd_port: int, munge_socket: Path) -> str:
    """The smallest slurm.conf that runs batch jobs with srun steps and requeue on one node of `cpus` CPUs.

    Two settings only make the test quick: `cred_expire=10` (a requeued job may start again only that long
    after the requeue; 120 s by default) and `sched_interval=2` (pending jobs are looked at every 2 s, not 60).
    """
    return f"""\
ClusterName=seqlit-test
SlurmctldHost={node}(127.0.0.1)
SlurmctldPort={ctld_port}
SlurmdPort={slurmd_port}
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket={munge_socket},cred_expire=10
StateSaveLocation={root}/state
SlurmdSpoolDir={root}/spool/%n
SlurmctldPidFile={root}/slurmctld.pid
SlurmdPidFile={root}/slurmd.pid
SlurmctldLogFile={root}/slurmctld.log
SlurmdLogFile={root}/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
MpiDefault=none
ReturnToService=2
JobRequeue=1
SchedulerType=sched/builtin
SchedulerParameters=sched_interval=2
SlurmctldTimeout=30
SlurmdTimeout=30
InactiveLimit=0
KillWait=5
MinJobAge=300
NodeName={node} NodeAddr=127.0.0.1 CPUs={cpus} State=UNKNOWN
PartitionName=test Nodes={node} Default=YES MaxTime=INFINITE State=UP
"""


class SlurmCluster:
    def __init__(self, cpus: int = 2):
        # its own folder under the system temp dir, enterable by the munge user (pytest's tmp_path is root-only)
        self.root, self.cpus = Path(tempfile.mkdtemp(prefix="seqlit-slurm-")), cpus
        self.root.chmod(0o711)
        self.node = socket.gethostname().split(".")[0]
        self.procs: list[subprocess.Popen] = []
        self.env = {**os.environ, "SLURM_CONF": str(self.root / "slurm.conf"),
                    "PATH": os.pathsep.join([os.environ.get("PATH", ""), "/usr/sbin", "/sbin"])}

    # -- lifecycle ---------------------------------------------------------------------------------------

    def start(self, timeout: float = 60) -> "SlurmCluster":
        try:
            self._start_munge(timeout)
            conf = slurm_conf(self.root, self.node, self.cpus, free_port(), free_port(), self.munge_socket)
            (self.root / "slurm.conf").write_text(conf)
            for d in ("state", "spool"):
                (self.root / d).mkdir(exist_ok=True)
            self._spawn(["slurmctld", "-D", "-c", "-i", "-f", str(self.root / "slurm.conf")], "slurmctld")
            self._spawn(["slurmd", "-D", "-N", self.node, "-f", str(self.root / "slurm.conf")], "slurmd")
            self._wait(lambda: self._node_state() in ("idle",), timeout, "the node to become idle")
        except BaseException:
            self.stop()
            raise
        return self

    def stop(self) -> None:
        """Cancel leftover jobs, end the daemons this cluster started (slurmd first, each within seconds), and
        remove its folder (a failing wait has already put the daemons' logs into its message)."""
        if any(p.poll() is None for p in self.procs[1:]):
            subprocess.run(["scancel", "--full", "--user", "root"], env=self.env, capture_output=True, timeout=15)
        for proc in reversed(self.procs):
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
                try:
                    proc.wait(timeout=15)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait(timeout=5)
        self.procs = []
        shutil.rmtree(self.root, ignore_errors=True)

    def __enter__(self) -> "SlurmCluster":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    # -- jobs ----------------------------------------------------------------------------------------------

    def run(self, *cmd: str, timeout: float = 30, **kw) -> subprocess.CompletedProcess:
        proc = subprocess.run(list(cmd), env=kw.pop("env", self.env), capture_output=True, text=True, timeout=timeout, **kw)
        if proc.returncode != 0:
            raise AssertionError(f"{' '.join(cmd)} failed ({proc.returncode}): {proc.stderr.strip()}\n{self.logs()}")
        return proc

    def sbatch(self, *args: str, cwd: Path, env: dict | None = None) -> str:
        out = self.run("sbatch", "--parsable", *args, cwd=cwd, env={**self.env, **(env or {})}).stdout.strip()
        return out.split(";")[0]

    def job(self, job_id: str) -> dict[str, str]:
        """`scontrol show job` as a dict (JobState, Restarts, ExitCode …); empty once the job is purged."""
        proc = subprocess.run(["scontrol", "show", "job", "-o", job_id], env=self.env, capture_output=True,
                              text=True, timeout=15)
        return dict(re.findall(r"(\w+)=(\S*)", proc.stdout)) if proc.returncode == 0 else {}

    def wait_job(self, job_id: str, states: tuple[str, ...], timeout: float) -> dict[str, str]:
        info = {}

        def reached():
            nonlocal info
            info = self.job(job_id)
            return info.get("JobState") in states

        self._wait(reached, timeout, lambda: f"job {job_id} to reach {states} (last seen {info.get('JobState')})")
        return info

    def logs(self) -> str:
        out = []
        for name in ("slurmctld.log", "slurmd.log", "munge/munged.log"):
            path = self.root / name
            if path.is_file():
                out.append(f"--- {name} (tail)\n" + "\n".join(path.read_text(errors="replace").splitlines()[-25:]))
        return "\n".join(out)

    # -- internals -----------------------------------------------------------------------------------------

    def _start_munge(self, timeout: float) -> None:
        """munged as the munge user, with its own key, socket and logs in a folder only it can enter."""
        munge = pwd.getpwnam("munge")
        folder = self.root / "munge"
        folder.mkdir()
        folder.chmod(0o711)  # munged wants its socket folder enterable by all (clients connect to it)
        key = folder / "munge.key"
        key.write_bytes(os.urandom(1024))
        key.chmod(0o400)
        for p in (folder, key):
            os.chown(p, munge.pw_uid, munge.pw_gid)
        self.munge_socket = folder / "munge.socket"
        self._spawn(["munged", "--foreground", "--force", f"--socket={self.munge_socket}", f"--key-file={key}",
                     f"--log-file={folder}/munged.log", f"--pid-file={folder}/munged.pid",
                     f"--seed-file={folder}/munged.seed"], "munged", user=munge.pw_uid, group=munge.pw_gid)
        self._wait(lambda: self.munge_socket.exists(), timeout, "munged's socket")

    def _spawn(self, cmd: list[str], name: str, **kw) -> None:
        log = open(self.root / f"{name}.out", "w")
        self.procs.append(subprocess.Popen(cmd, env=self.env, stdout=log, stderr=subprocess.STDOUT,
                                           start_new_session=True, **kw))

    def _node_state(self) -> str:
        proc = subprocess.run(["scontrol", "show", "node", "-o", self.node], env=self.env, capture_output=True,
                              text=True, timeout=15)
        match = re.search(r"State=(\S+)", proc.stdout)
        return match.group(1).lower() if match else ""

    def _wait(self, ready, timeout: float, what) -> None:
        """Poll `ready()` until it holds; `what` (a string, or a function giving one) names it in the error."""
        describe = what if callable(what) else lambda: what
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            dead = [p for p in self.procs if p.poll() is not None]
            if dead:
                raise AssertionError(f"{dead[0].args[0]} exited ({dead[0].returncode}) while waiting for {describe()}\n"
                                     f"{self._outputs()}{self.logs()}")
            if ready():
                return
            time.sleep(0.5)
        raise AssertionError(f"timed out after {timeout:.0f}s waiting for {describe()}\n{self._outputs()}{self.logs()}")

    def _outputs(self) -> str:
        return "".join(f"--- {p.name}\n{p.read_text(errors='replace')[-2000:]}\n" for p in self.root.glob("*.out"))
