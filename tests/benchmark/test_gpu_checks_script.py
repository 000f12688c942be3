"""bench/gpu_checks.py is run on a lent GPU with minutes to spare: its CPU smoke run must work and its checks bite."""

import json
import math
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def test_quick_cpu_run_reports_matching_backends_and_a_finite_step(tmp_path):
    out = tmp_path / "gpu_checks.json"
    run = subprocess.run([sys.executable, str(REPO / "bench" / "gpu_checks.py"), "--device", "cpu", "--quick",
                          "--out", str(out)], capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr[-2000:]
    report = json.loads(out.read_text())
    cases = report["fused_vs_scratch"]
    assert len(cases) == 12 and {c["weight_dropout"] for c in cases} == {0.0, 0.3}
    assert all(c["max_output_diff"] < 1e-4 and c["max_grad_diff"] < 1e-3 for c in cases), cases
    step = report["shapes"]["tiny"]["fp32"]
    assert math.isfinite(step["loss"]) and step["tokens_per_s"] > 0


def test_refuses_without_cuda_unless_told_cpu():
    run = subprocess.run([sys.executable, str(REPO / "bench" / "gpu_checks.py")], capture_output=True, text=True,
                         timeout=120, env={"CUDA_VISIBLE_DEVICES": "", "PATH": "/usr/bin:/bin"})
    assert run.returncode != 0 and "no CUDA device here" in run.stderr
