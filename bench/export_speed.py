"""onnxruntime vs PyTorch eager on CPU for the exported networks: batch-1 latency and batch-32 throughput.

The tagger (BiLSTM 200 + char CNN, the shape of configs/tagging/conll2003_bilstm_crf.yaml, CRF emissions) and the
classifier (BiLSTM 128, max pooling, the SST-2 config's shape), built with random weights and the CoNLL-2003 /
SST-2 vocabulary sizes, each exported as `export --format onnx` does (seqlit/deploy/onnx_graph.py). Same process,
same inputs (sentence lengths drawn from 5 to 30 tokens, padded as the data modules pad), same thread count;
timed calls interleaved (one of each back end per round) and the median reported, so load elsewhere hits both
alike. PyTorch runs the packed path `predict` runs; onnxruntime the masked graph.

    python bench/export_speed.py --threads 1 --rounds 200
"""

from __future__ import annotations

import argparse
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np  # noqa: E402
import onnxruntime as ort  # noqa: E402
import torch  # noqa: E402

from seqlit.deploy.onnx_graph import GRAPH, graph_of, write_onnx  # noqa: E402
from seqlit.tasks import Classifier, Tagger  # noqa: E402

CONLL = {"vocab_size": 21010, "pad_id": 0, "unk_id": 1, "rare_start": 10000, "char_vocab_size": 85, "char_pad_id": 0,
         "num_casings": 6, "label_names": ["O", "B-LOC", "B-MISC", "B-ORG", "B-PER", "I-LOC", "I-MISC", "I-ORG", "I-PER"]}
SST = {"vocab_size": 14800, "pad_id": 0, "unk_id": 1, "label_names": ["negative", "positive"]}


def models():
    tagger = Tagger(CONLL, backbone={"init_args": {"kind": "lstm", "hidden_size": 200, "bidirectional": True}},
                    embedding_dim=100, char_features=50)
    classifier = Classifier(SST, backbone={"init_args": {"kind": "lstm", "hidden_size": 128, "bidirectional": True}})
    return {"tagger": tagger.eval(), "classifier": classifier.eval()}


def batch(task: str, size: int, rng: np.random.Generator):
    lengths = rng.integers(5, 31, size)
    longest = int(lengths.max())
    real = np.arange(longest)[None, :] < lengths[:, None]
    ids = np.where(real, rng.integers(2, 5000, (size, longest)), 0)
    if task == "classifier":
        return ids, lengths
    casing = np.where(real, rng.integers(1, 6, (size, longest)), 0)
    chars = np.where(real[..., None], rng.integers(2, 80, (size, longest, 10)), 0)
    return ids, casing, chars, lengths


def timed(fn) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=1, help="intra-op threads of both back ends")
    parser.add_argument("--rounds", type=int, default=200, help="timed calls per back end and batch size")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    options = ort.SessionOptions()
    options.intra_op_num_threads, options.inter_op_num_threads = args.threads, 1
    rng = np.random.default_rng(0)
    print(f"CPU: {platform.processor() or platform.machine()}, torch {torch.__version__}, onnxruntime {ort.__version__}, "
          f"{args.threads} thread(s), median of {args.rounds} interleaved calls\n")
    print("| task | batch | PyTorch eager | onnxruntime | ORT speed-up |")
    print("|---|---|---|---|---|")
    with tempfile.TemporaryDirectory() as tmp:
        for task, model in models().items():
            folder = Path(tmp) / task
            folder.mkdir()
            write_onnx(model, folder)
            session, graph = ort.InferenceSession(str(folder / GRAPH), options, providers=["CPUExecutionProvider"]), graph_of(model)
            for size in (1, 32):
                inputs = [batch(task, size, rng) for _ in range(args.rounds)]
                feeds = [dict(zip(graph.inputs, b)) for b in inputs]
                tensors = [tuple(torch.from_numpy(np.ascontiguousarray(a)) for a in b) for b in inputs]
                for i in range(5):  # warm-up
                    session.run(None, feeds[i])
                    with torch.no_grad():
                        graph(*tensors[i])
                eager, onnx_times = [], []
                with torch.no_grad():
                    for feed, tensor in zip(feeds, tensors):
                        eager.append(timed(lambda: graph(*tensor)))
                        onnx_times.append(timed(lambda: session.run(None, feed)))
                te, to = statistics.median(eager), statistics.median(onnx_times)
                unit = (lambda t: f"{t * 1e3:.2f} ms") if size == 1 else (lambda t: f"{size / t:,.0f} sentences/s")
                print(f"| {task} | {size} | {unit(te)} | {unit(to)} | {te / to:.2f}x |")


if __name__ == "__main__":
    main()
