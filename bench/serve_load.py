"""A bounded load test of `python -m seqlit serve` on 127.0.0.1: requests/s, p50/p99 latency and errors.

One text per request (CoNLL-2003 test sentences for the tagger, SST-2 test sentences for the classifier), sent by
1 and 16 client threads, each on its own keep-alive http.client connection, to a server per back end (torch, onnx)
with dynamic batching (--max_batch_size 32), and once more with --max_batch_size 1 at 16 clients (no batching).
The servers of a task and back end run side by side and the rows' requests go in interleaved rounds, so the
ratios compare rows measured under the same load.
The models are random weights of the shipped shapes, built as bench/export_speed.py builds them, written into the
legacy fixtures' exported folders (their vocabularies: most real words are <unk>, which costs the same), so the
figures measure serving, not accuracy. The load average is printed before and after: the machine may be shared.

    python bench/serve_load.py            # 2,000 requests per row
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "bench"))

DATA = REPO.parent / "shared" / "data"
TASKS = {"tagger": ("conll2003", "tokens"), "classifier": ("sst2", "sentence")}
RUNS = ((32, 1), (32, 16), (1, 16))  # (max_batch_size, clients)
TIMEOUT = 60


def texts_of(task: str, data: Path) -> list[str]:
    import pyarrow.parquet as pq

    name, column = TASKS[task]
    values = pq.read_table(data / name / "test.parquet", columns=[column]).column(column).to_pylist()
    texts = [" ".join(v) if isinstance(v, list) else v for v in values]
    return [t for t in texts if t.strip()]


def folder_of(task: str, root: Path) -> Path:
    """The legacy fixture's folder, its network replaced by export_speed's random one of the shipped shape."""
    from safetensors.torch import save_file

    import seqlit.deploy
    from export_speed import CONLL, SST
    from seqlit.deploy.onnx_graph import write_onnx
    from seqlit.tasks import Classifier, Tagger

    folder = seqlit.deploy.export(str(REPO / "tests" / "fixtures" / "legacy" / f"{task}.ckpt"), root / task, onnx=True)
    config = json.loads((folder / "config.json").read_text())
    # the fixture's label names: its vocab.json decodes the tags
    spec = {**(CONLL if task == "tagger" else SST), "label_names": config["data_spec"]["label_names"]}
    init = {"embedding_dim": 100, "char_features": 50} if task == "tagger" else {}
    init["backbone"] = {"class_path": "seqlit.nn.Recurrent", "init_args": {
        "kind": "lstm", "hidden_size": 200 if task == "tagger" else 128, "bidirectional": True}}
    model = (Tagger if task == "tagger" else Classifier)(spec, **init).eval()
    config["task"]["init_args"], config["data_spec"] = init, spec
    (folder / "config.json").write_text(json.dumps(config, indent=1))
    save_file({k: v.detach().clone().contiguous() for k, v in model.state_dict().items()},
              str(folder / "model.safetensors"), metadata={"format": "pt"})
    write_onnx(model, folder)
    return folder


def start(folder: Path, backend: str, max_batch_size: int) -> tuple[subprocess.Popen, str, int]:
    proc = subprocess.Popen([sys.executable, "-m", "seqlit", "serve", "--model", str(folder), "--port", "0",
                             "--backend", backend, "--max_batch_size", str(max_batch_size)],
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
                            env={**os.environ, "PYTHONPATH": str(REPO), "HF_HUB_OFFLINE": "1"})
    first: list[str] = []
    reader = threading.Thread(target=lambda: first.append(proc.stdout.readline()), daemon=True)
    reader.start()
    reader.join(TIMEOUT)
    if not first or "http://" not in first[0]:
        proc.kill()
        raise SystemExit(f"serve_load: the server did not start ({first})")
    host, port = first[0].split("http://", 1)[1].split()[0].rsplit(":", 1)
    return proc, host, int(port)


def load(host: str, port: int, texts: list[str], requests: int, clients: int, first: int = 0) -> dict:
    """Send `requests` one-text requests (texts from `first` on) from `clients` threads: the wall time, the
    latencies of the answered ones, and the errors."""
    latencies: list[float] = []
    errors = [0]
    lock = threading.Lock()

    def client(share: range) -> None:
        conn = http.client.HTTPConnection(host, port, timeout=TIMEOUT)
        for i in share:
            body = json.dumps({"texts": [texts[(first + i) % len(texts)]]}).encode()
            began = time.perf_counter()
            try:
                conn.request("POST", "/predict", body, {"Content-Type": "application/json"})
                answer = conn.getresponse()
                ok = answer.status == 200 and len(json.loads(answer.read())["predictions"]) == 1
            except (OSError, http.client.HTTPException, ValueError, KeyError):
                ok = False
                conn.close()
                conn = http.client.HTTPConnection(host, port, timeout=TIMEOUT)
            took = time.perf_counter() - began
            with lock:
                if ok:
                    latencies.append(took)
                else:
                    errors[0] += 1
        conn.close()

    began = time.perf_counter()
    with ThreadPoolExecutor(clients) as pool:
        list(pool.map(client, [range(c, requests, clients) for c in range(clients)]))
    return {"wall": time.perf_counter() - began, "latencies": latencies, "errors": errors[0]}


def summary(parts: list[dict]) -> dict:
    """requests/s, p50/p99 (ms) and errors of a row's rounds together."""
    latencies = [t for part in parts for t in part["latencies"]]
    cuts = statistics.quantiles(latencies, n=100) if len(latencies) > 1 else [float("nan")] * 99
    return {"rps": len(latencies) / sum(p["wall"] for p in parts), "p50": cuts[49] * 1e3, "p99": cuts[98] * 1e3,
            "errors": sum(p["errors"] for p in parts)}


def measure(folder: Path, backend: str, texts: list[str], requests: int, rounds: int) -> dict:
    """The rows of RUNS for one folder and back end: a server per max_batch_size, all started at once, and the
    rows' requests sent in `rounds` interleaved blocks, so a change of load elsewhere hits every row alike."""
    servers = {size: start(folder, backend, size) for size in sorted({s for s, _ in RUNS}, reverse=True)}
    parts: dict[tuple[int, int], list[dict]] = {run: [] for run in RUNS}
    try:
        for _, host, port in servers.values():
            load(host, port, texts, min(50, requests), 4)  # warm-up
        for r in range(rounds):
            for size, clients in RUNS:
                _, host, port = servers[size]
                share = requests // rounds + (r < requests % rounds)
                parts[(size, clients)].append(load(host, port, texts, share, clients, first=r * requests))
    finally:
        for proc, _, _ in servers.values():
            proc.terminate()
            proc.wait(TIMEOUT)
    return {run: summary(p) for run, p in parts.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=2000, help="requests per row of the table")
    parser.add_argument("--rounds", type=int, default=4,
                        help="blocks each row's requests are sent in, the rows of a task and back end interleaved")
    parser.add_argument("--tasks", nargs="+", default=list(TASKS), choices=list(TASKS))
    parser.add_argument("--backends", nargs="+", default=["torch", "onnx"], choices=["torch", "onnx"])
    parser.add_argument("--data", type=Path, default=DATA, help="folder with conll2003/ and sst2/ test.parquet")
    args = parser.parse_args()
    before = os.getloadavg()
    print(f"CPU: {platform.processor() or platform.machine()}, {os.cpu_count()} cores; load average before "
          f"{before[0]:.2f} {before[1]:.2f} {before[2]:.2f}; {args.requests} one-text requests per row, "
          f"in {args.rounds} interleaved rounds\n")
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for task in args.tasks:
            texts, folder = texts_of(task, args.data), folder_of(task, Path(tmp))
            for backend in args.backends:
                for (size, clients), r in measure(folder, backend, texts, args.requests, args.rounds).items():
                    rows.append((task, backend, size, clients, r))
    print("| task | back end | max_batch_size | clients | requests/s | p50 ms | p99 ms | errors |")
    print("|---|---|---|---|---|---|---|---|")
    for task, backend, size, clients, r in rows:
        print(f"| {task} | {backend} | {size} | {clients} | {r['rps']:,.0f} | {r['p50']:.1f} | {r['p99']:.1f} "
              f"| {r['errors']} |")
    after = os.getloadavg()
    print(f"\nload average after {after[0]:.2f} {after[1]:.2f} {after[2]:.2f}")
    print("\n| task | back end | p99 at 16 clients / p50 at 1 client (target <= 4) "
          "| batching speed-up at 16 clients (target >= 2) |")
    print("|---|---|---|---|")
    table = {(t, b, s, c): r for t, b, s, c, r in rows}
    for task in args.tasks:
        for backend in args.backends:
            one, many, unbatched = (table[(task, backend, s, c)] for s, c in RUNS)
            print(f"| {task} | {backend} | {many['p99'] / one['p50']:.2f} | {many['rps'] / unbatched['rps']:.2f}x |")


if __name__ == "__main__":
    main()
