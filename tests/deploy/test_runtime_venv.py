"""The exported tagger folder loads and predicts in a fresh venv holding only numpy and onnxruntime (from the
package registry) and a copy of `seqlit/runtime` alone: what a service that ships `seqlit.runtime` installs.
Slow tier (tests/conftest.py): pip installs two packages."""

from __future__ import annotations

import json
import shutil
import subprocess
import venv

import pytest

import seqlit.deploy
from tests.conftest import REPO

LEGACY = REPO / "tests" / "fixtures" / "legacy"
TEXTS = ["John visited Paris on Monday .", "", "Ali Khan left London , England ."]


def test_tagger_folder_predicts_in_a_fresh_venv(tmp_path):
    folder = seqlit.deploy.export(str(LEGACY / "tagger.ckpt"), tmp_path / "model", onnx=True)
    env_dir = tmp_path / "venv"
    venv.EnvBuilder(with_pip=True).create(env_dir)
    python = env_dir / "bin" / "python"
    install = subprocess.run([str(python), "-m", "pip", "install", "-q", "--disable-pip-version-check",
                              "numpy", "onnxruntime"], capture_output=True, text=True, timeout=600)
    if install.returncode != 0:
        pytest.skip(f"pip could not install numpy and onnxruntime from the registry: {install.stderr.strip()[-300:]}")
    shutil.copytree(REPO / "seqlit" / "runtime", tmp_path / "only" / "seqlit" / "runtime")  # no seqlit/__init__.py
    script = ("import json, sys\nfrom seqlit.runtime import load\n"
              f"print(json.dumps(load({str(folder)!r}).predict_text({TEXTS!r})))\n"
              "print(json.dumps(sorted({m.split('.')[0] for m in sys.modules})))")
    proc = subprocess.run([str(python), "-I", "-c", f"import sys; sys.path.insert(0, {str(tmp_path / 'only')!r})\n" + script],
                          capture_output=True, text=True, timeout=300, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr[-2000:]
    records, tops = map(json.loads, proc.stdout.strip().splitlines())
    assert records == json.loads(json.dumps(seqlit.deploy.load(folder).predict_text(TEXTS)))
    assert "torch" not in tops and "data_modules" not in tops
    freeze = subprocess.run([str(python), "-m", "pip", "freeze"], capture_output=True, text=True, timeout=120).stdout
    assert "torch" not in freeze.lower() and "onnxruntime" in freeze.lower()
