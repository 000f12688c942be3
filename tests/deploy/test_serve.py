"""`python -m seqlit serve`, the real server in a subprocess on 127.0.0.1, spoken to with a real HTTP client
(urllib): the records of `predict_text` for the legacy fixtures' tagger and classifier on both back ends,
concurrent requests sharing forward passes, a 4xx with one line of JSON for each bad request, SIGTERM draining
the requests in flight. Every wait has a timeout."""

from __future__ import annotations

import http.client
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager

import pytest

import seqlit.deploy
from seqlit.runtime import load as runtime_load
from tests.conftest import REPO, run_seqlit
from tests.deploy.test_onnx import fixture_texts

LEGACY = REPO / "tests" / "fixtures" / "legacy"
TIMEOUT = 60  # seconds, for any one request or wait


@pytest.fixture(scope="module")
def folders(tmp_path_factory):
    root = tmp_path_factory.mktemp("serve")
    return {task: seqlit.deploy.export(str(LEGACY / f"{task}.ckpt"), root / task, onnx=True)
            for task in ("tagger", "classifier")}


def start(folder, *flags: str) -> tuple[subprocess.Popen, str]:
    """The server process and its base URL, read from the line it prints once it listens (port 0: a free one)."""
    proc = subprocess.Popen([sys.executable, "-m", "seqlit", "serve", "--model", str(folder), "--port", "0", *flags],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env={**os.environ, "PYTHONPATH": str(REPO), "HF_HUB_OFFLINE": "1"})
    first: list[str] = []
    reader = threading.Thread(target=lambda: first.append(proc.stdout.readline()), daemon=True)
    reader.start()
    reader.join(TIMEOUT)
    if not first or "http://" not in first[0]:
        proc.kill()
        raise AssertionError(f"the server did not start: {first} {proc.stderr.read()[-2000:]}")
    return proc, first[0].split("http://", 1)[1].split()[0]


def stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        proc.kill()
    proc.communicate(timeout=TIMEOUT)


@contextmanager
def server(folder, *flags: str):
    proc, address = start(folder, *flags)
    try:
        yield f"http://{address}"
    finally:
        stop(proc)


def request(url: str, body: bytes | None = None, headers: dict | None = None) -> tuple[int, dict]:
    """(status, the JSON answer) of a POST of `body` (a GET without one)."""
    req = urllib.request.Request(url, data=body, headers=headers or {}, method="GET" if body is None else "POST")
    try:
        with urllib.request.urlopen(req, timeout=TIMEOUT) as answer:
            return answer.status, json.loads(answer.read())
    except urllib.error.HTTPError as err:
        return err.code, json.loads(err.read())


def predict(base: str, texts) -> tuple[int, dict]:
    return request(f"{base}/predict", json.dumps({"texts": texts}).encode())


def requests_of(texts: list[str]) -> list[list[str]]:
    """`texts` cut into requests of 1 to 5 texts."""
    out, first = [], 0
    while first < len(texts):
        size = 1 + len(out) % 5
        out.append(texts[first: first + size])
        first += size
    return out


def in_parallel(base: str, bodies: list, clients: int = 16) -> list[tuple[int, dict]]:
    with ThreadPoolExecutor(clients) as pool:
        return list(pool.map(lambda texts: predict(base, texts), bodies, timeout=TIMEOUT))


@pytest.mark.parametrize("backend", ["torch", "onnx"])
@pytest.mark.parametrize("task", ["tagger", "classifier"])
def test_records_are_predict_texts_and_requests_share_forward_passes(folders, task, backend):
    texts = [t for t in fixture_texts(task) if t.strip()]
    bodies = requests_of(texts)
    model = seqlit.deploy.load(folders[task]) if backend == "torch" else runtime_load(folders[task])
    with server(folders[task], "--backend", backend, "--batch_timeout_ms", "20") as base:
        answers = in_parallel(base, bodies)
        status, health = request(f"{base}/health")
    assert [s for s, _ in answers] == [200] * len(bodies)
    for body, (_, answer) in zip(bodies, answers):
        assert answer["predictions"] == model.predict_text(body)
    stats = health["stats"]
    assert status == 200 and health["status"] == "ok" and health["backend"] == backend
    assert health["task"] == {"tagger": "Tagger", "classifier": "Classifier"}[task]
    assert stats["requests"] == len(bodies) and stats["texts"] == len(texts)
    assert stats["forward_passes"] < len(bodies) and stats["largest_batch"] > 5  # more than one request's texts


BAD = [  # (body, headers, status, words of the error)
    (b"{not json", {}, 400, "not valid JSON"),
    (b"\xff\xfe", {}, 400, "not valid JSON"),
    (b"[\"a\"]", {}, 422, "not an object"),
    (b"{}", {}, 422, "no \"texts\""),
    (b"{\"texts\": \"a b\"}", {}, 422, "not a list"),
    (b"{\"texts\": []}", {}, 422, "is empty"),
    (b"{\"texts\": [\"a\", 3]}", {}, 422, "texts[1] is a JSON number"),
    (b"{\"texts\": [\"a\", \"\"]}", {}, 422, "texts[1] is empty or only whitespace"),
    (b"{\"texts\": [\" \\t\\n\"]}", {}, 422, "texts[0] is empty or only whitespace"),
    (json.dumps({"texts": ["a" * 51]}).encode(), {}, 413, "at most 50 (--max_chars)"),
    (json.dumps({"texts": ["a"] * 5}).encode(), {}, 413, "at most 4 a request (--max_texts)"),
    (b" " * 3000, {}, 413, "at most"),
    (b"{}", {"Content-Length": "99999999"}, 413, "99999999 bytes"),
]


def chunked_post(base: str, chunks: list[bytes]) -> tuple[int, dict]:
    """(status, the JSON answer) of a POST /predict whose body is sent in chunks (Transfer-Encoding: chunked)."""
    conn = http.client.HTTPConnection(base.removeprefix("http://"), timeout=TIMEOUT)
    try:
        conn.request("POST", "/predict", iter(chunks), {"Content-Type": "application/json"}, encode_chunked=True)
        answer = conn.getresponse()
        return answer.status, json.loads(answer.read())
    finally:
        conn.close()


def test_bad_requests_get_a_4xx_and_one_line_of_json(folders):
    with server(folders["classifier"], "--backend", "onnx", "--max_texts", "4", "--max_chars", "50") as base:
        for body, headers, status, words in BAD:
            if "Content-Length" in headers:  # a declared size over the limit is refused before the body is read
                conn = http.client.HTTPConnection(base.removeprefix("http://"), timeout=TIMEOUT)
                conn.putrequest("POST", "/predict")
                conn.putheader("Content-Length", headers["Content-Length"])
                conn.endheaders(body)
                answer = conn.getresponse()
                got_status, answer = answer.status, json.loads(answer.read())
                conn.close()
            else:
                got_status, answer = request(f"{base}/predict", body, headers)
            assert (got_status, list(answer)) == (status, ["error"]), (body[:40], answer)
            assert words in answer["error"] and "\n" not in answer["error"]
        # no Content-Length: a chunked body is refused once it passes the limit (4 texts of 50 characters: 2,240 bytes)
        status, answer = chunked_post(base, [b'{"texts": ["' + b"a" * 1000] * 5)
        assert (status, list(answer)) == (413, ["error"]) and "over 2240 bytes" in answer["error"], answer
        assert chunked_post(base, [b'{"texts": ', b'["chunked ', b'but small"]}'])[0] == 200
        assert request(f"{base}/nowhere") == (404, {"error": "GET /nowhere: Not Found (routes: POST /predict, GET /health)"})
        assert request(f"{base}/predict")[0] == 405
        assert predict(base, ["still serving ."])[0] == 200  # nothing above broke it


def test_sigterm_drains_the_requests_in_flight_and_exits_0(folders):
    # a batch waits 2 s for company, so the requests are surely in flight when the signal comes
    proc, address = start(folders["tagger"], "--backend", "onnx", "--batch_timeout_ms", "2000", "--max_batch_size", "64")
    base = f"http://{address}"
    try:
        with ThreadPoolExecutor(8) as pool:
            futures = [pool.submit(predict, base, [f"Sentence {i} in Paris ."]) for i in range(8)]
            time.sleep(0.5)
            proc.send_signal(signal.SIGTERM)
            answers = [f.result(timeout=TIMEOUT) for f in futures]
        rc = proc.wait(timeout=TIMEOUT)
        with pytest.raises(OSError):  # it no longer listens
            socket.create_connection(address.split(":"), timeout=5).close()
    finally:
        stop(proc)
    assert [status for status, _ in answers] == [200] * 8
    assert [a["predictions"][0]["text"] for _, a in answers] == [f"Sentence {i} in Paris ." for i in range(8)]
    assert rc == 0, proc.stderr.read()[-2000:] if proc.stderr else ""


def test_a_second_signal_exits_at_once(folders):
    proc, address = start(folders["tagger"], "--backend", "onnx", "--batch_timeout_ms", "30000")
    try:
        with ThreadPoolExecutor(1) as pool:
            pool.submit(predict, f"http://{address}", ["Waiting ."])
            time.sleep(0.5)
            proc.send_signal(signal.SIGTERM)
            time.sleep(0.5)
            proc.send_signal(signal.SIGTERM)
            began = time.monotonic()
            rc = proc.wait(timeout=TIMEOUT)
            assert time.monotonic() - began < 10 and rc == 128 + signal.SIGTERM
    finally:
        stop(proc)


def test_not_a_model_folder_is_one_line_before_the_port(tmp_path):
    with socket.socket() as taken:  # the port is free: a refusal is the folder's
        taken.bind(("127.0.0.1", 0))
        port = str(taken.getsockname()[1])
    proc = run_seqlit("serve", "--model", str(tmp_path), "--port", port, cwd=tmp_path, check=False)
    assert proc.returncode == 2 and "config.json" in proc.stderr and len(proc.stderr.strip().splitlines()) == 1
    assert "http://" not in proc.stdout


def test_a_port_in_use_is_one_line(folders, tmp_path):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        port = str(taken.getsockname()[1])
        proc = run_seqlit("serve", "--model", str(folders["classifier"]), "--port", port, "--backend", "onnx",
                          cwd=tmp_path, check=False)
    assert proc.returncode == 2 and len(proc.stderr.strip().splitlines()) == 1
    assert f"cannot listen on 127.0.0.1:{port}" in proc.stderr and "--port" in proc.stderr


def test_serve_help_imports_nothing_heavy(tmp_path):
    code = ("import sys; from seqlit.cli.main import main\n"
            "try:\n    main(['serve', '--help'])\nexcept SystemExit:\n    pass\n"
            "print('heavy:', [m for m in ('torch', 'fastapi', 'uvicorn', 'onnxruntime') if m in sys.modules])")
    proc = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True, timeout=TIMEOUT,
                          env={**os.environ, "PYTHONPATH": str(REPO)})
    assert "--max_batch_size" in proc.stdout and "heavy: []" in proc.stdout, proc.stdout[-500:] + proc.stderr[-500:]
