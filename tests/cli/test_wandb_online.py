"""`WANDB_MODE=online` where W&B cannot be used never hangs nor dumps a traceback: the run logs offline, says so in one
line (with how to upload later), and trains.

"No network" is a W&B host whose name cannot resolve (`.invalid` never does, RFC 2606), with an API key set and
without one; "no key" is also checked against a host that answers (a local listener), where wandb itself refuses.
HOME is a fresh folder, so no ~/.netrc key is found.
"""

from __future__ import annotations

import socket
import threading
import time

import pytest

from tests.cli.test_fit_test_generate import TINY
from tests.conftest import run_seqlit

KEY = "a" * 40  # the shape of a W&B API key, valid nowhere
NOTE = "[seqlit] W&B online is not possible"


@pytest.fixture
def listener():
    """A local TCP port that accepts connections and answers nothing: the W&B host is 'reachable'."""
    server = socket.create_server(("127.0.0.1", 0))
    stop = threading.Event()

    def accept():
        server.settimeout(0.2)
        while not stop.is_set():
            try:
                server.accept()[0].close()
            except OSError:
                pass

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.getsockname()[1]}"
    stop.set()
    thread.join()
    server.close()


def fit_online(tmp_path, base_url: str, key: str):
    text = tmp_path / "corpus.txt"
    text.write_text("\n".join(f"the cat number {i % 7} sat on mat {i % 5} ." for i in range(400)) + "\n")
    (tmp_path / "home").mkdir()
    env = {"WANDB_MODE": "online", "WANDB_BASE_URL": base_url, "WANDB_API_KEY": key, "HOME": str(tmp_path / "home"),
           "WANDB_SILENT": "false", "OMP_NUM_THREADS": "1"}
    start = time.monotonic()
    proc = run_seqlit("fit", *TINY, "--data.init_args.path", str(text), "--trainer.max_steps", "2",
                      "--test_after_fit", "false", "--num_threads", "1", cwd=tmp_path, env=env)
    return proc, time.monotonic() - start


def assert_fell_back_offline(tmp_path, proc, seconds: float, reason: str) -> None:
    notes = [line for line in proc.stderr.splitlines() if line.startswith(NOTE)]
    assert len(notes) == 1, proc.stderr[-3000:]
    assert reason in notes[0] and "wandb sync runs/wandb/offline-run-" in notes[0]
    assert "Traceback" not in proc.stderr + proc.stdout
    assert len(list((tmp_path / "runs" / "wandb").glob("offline-run-*"))) == 1  # the run was logged, offline
    assert seconds < 90  # wandb alone waited ~111 s before failing; here the whole run fits well within that


@pytest.mark.parametrize("key", [KEY, ""], ids=["key set", "no key"])
def test_no_network_logs_offline(tmp_path, key):
    proc, seconds = fit_online(tmp_path, "https://api.wandb.invalid", key)
    assert_fell_back_offline(tmp_path, proc, seconds, "cannot reach api.wandb.invalid:443")


def test_reachable_host_without_key_logs_offline(tmp_path, listener):
    proc, seconds = fit_online(tmp_path, listener, "")
    assert_fell_back_offline(tmp_path, proc, seconds, "API key")
