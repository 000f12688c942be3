"""`export --format onnx`: the graph computes what PyTorch computes (within 1e-4 on padded batches, any batch and
length), and the torch-free `seqlit.runtime` predicts what `Task.predict_text` predicts: the legacy fixtures'
tagger (CRF) and classifier on their own data and on the whole shared CoNLL-2003 and SST-2 test splits (the
language model on WikiText-2's). The step graphs of the language models and the encoder–decoder:
tests/deploy/test_onnx_generation.py."""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys

import numpy as np
import onnx
import pyarrow.parquet as pq
import pytest
import torch

import seqlit.deploy
from seqlit.deploy.onnx_graph import GRAPH, RUNTIME, graph_of
from seqlit.errors import SeqlitError
from seqlit.runtime import ModelFolderError, load as runtime_load
from tests.conftest import REPO, SHARED_DATA, needs_shared_data, run_seqlit

LEGACY = REPO / "tests" / "fixtures" / "legacy"
TEXTS = ["John visited Paris on Monday .", "", "the film is great .", "zebra quux 12/03/2001",
         "Ali Khan left London , England , on 1996-08-22 ; U.S. officials didn't .", "   "]


@pytest.fixture(scope="module")
def folders(tmp_path_factory):
    root = tmp_path_factory.mktemp("onnx")
    return {task: seqlit.deploy.export(str(LEGACY / f"{task}.ckpt"), root / task, onnx=True)
            for task in ("tagger", "classifier")}


def padded_batch(task: str, batch: int, length: int, seed: int):
    """Random ids with rows of lengths down to 1 (the first row full), zero-padded as the data modules pad."""
    g = torch.Generator().manual_seed(seed)
    lengths = torch.randint(1, length + 1, (batch,), generator=g)
    lengths[0] = length
    real = torch.arange(length) < lengths[:, None]
    ids = torch.randint(2, 20, (batch, length), generator=g).masked_fill(~real, 0)
    if task == "classifier":
        return (ids, lengths), real
    casing = torch.randint(1, 6, (batch, length), generator=g).masked_fill(~real, 0)
    chars = torch.randint(2, 40, (batch, length, 5), generator=g).masked_fill(~real[..., None], 0)
    chars[:, :, 3:] = 0  # words shorter than the widest
    return (ids, casing, chars, lengths), real


@pytest.mark.parametrize("task", ["tagger", "classifier"])
@pytest.mark.parametrize("batch,length", [(1, 1), (1, 12), (7, 9), (32, 23)])
def test_graph_matches_pytorch_on_padded_batches(folders, task, batch, length):
    import onnxruntime as ort

    model = seqlit.deploy.load(folders[task])  # the packed path: what predict runs
    session = ort.InferenceSession(str(folders[task] / GRAPH), providers=["CPUExecutionProvider"])
    graph = graph_of(model)
    args, real = padded_batch(task, batch, length, seed=batch * 100 + length)
    with torch.no_grad():
        want = graph(*args).numpy()
    got = session.run(None, {name: a.numpy() for name, a in zip(graph.inputs, args)})[0]
    assert got.shape == want.shape
    if task == "tagger":  # padded steps carry the output layer's bias, which nothing reads
        got, want = got[real.numpy()], want[real.numpy()]
    np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("task", ["tagger", "classifier"])
def test_graph_has_no_packing_and_dynamic_axes(folders, task):
    graph = onnx.load(str(folders[task] / GRAPH)).graph
    ops = {node.op_type for node in graph.node}
    assert "LSTM" in ops and not any("Pack" in op for op in ops)
    for value in graph.input:
        dims = value.type.tensor_type.shape.dim
        assert dims[0].dim_param == "batch" and all(d.dim_param for d in dims)  # nothing fixed
    spec = json.loads((folders[task] / RUNTIME).read_text())
    assert spec["task"] == task and ("crf" in spec) == (task == "tagger")


@pytest.mark.parametrize("task", ["tagger", "classifier"])
def test_runtime_predicts_what_predict_text_does(folders, task):
    texts = TEXTS + fixture_texts(task)
    assert runtime_load(folders[task]).predict_text(texts) == seqlit.deploy.load(folders[task]).predict_text(texts)


@needs_shared_data
@pytest.mark.parametrize("task,split", [("tagger", "conll2003"), ("classifier", "sst2")])
def test_runtime_on_shared_test_split(folders, task, split):
    """The whole test split (3,453 and 1,821 sentences; ~15 s of torch tagging)."""
    table = pq.read_table(SHARED_DATA / split / "test.parquet").to_pylist()
    texts = [" ".join(row["tokens"]) if task == "tagger" else row["sentence"] for row in table]
    got = runtime_load(folders[task]).predict_text(texts, batch_size=64)
    want = seqlit.deploy.load(folders[task]).predict_text(texts)
    assert len(got) == len(texts) == len(table)
    if task == "tagger":
        assert got == want
        return
    assert [r["label"] for r in got] == [r["label"] for r in want]
    for g, w in zip(got, want):
        assert g["probs"] == pytest.approx(w["probs"], abs=2e-6)


def fixture_texts(task: str) -> list[str]:
    if task == "classifier":
        return pq.read_table(LEGACY / "data" / "sst" / "test.parquet").column("sentence").to_pylist()
    sentences, tokens = [], []
    for line in (LEGACY / "data" / "ner" / "test.conll").read_text(encoding="utf-8").splitlines() + [""]:
        if line.split() and line.split()[0] != "-DOCSTART-":
            tokens.append(line.split()[0])
        elif tokens:
            sentences, tokens = sentences + [" ".join(tokens)], []
    return sentences


def test_runtime_imports_no_torch(folders):
    """In a process where torch cannot be imported at all, the runtime loads the folder and predicts."""
    code = ("import sys, json; sys.modules['torch'] = None\n"
            "from seqlit.runtime import load\n"
            f"print(json.dumps(load({str(folders['tagger'])!r}).predict_text({TEXTS!r})))\n"
            "print(json.dumps(sorted(m for m, module in sys.modules.items() if module is not None and m.split('.')[0] in "
            "('torch', 'pytorch_lightning', 'lightning', 'data_modules', 'seqlit'))))")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120,
                          env={**os.environ, "PYTHONPATH": str(REPO)}, cwd=REPO)
    assert proc.returncode == 0, proc.stderr[-2000:]
    records, modules = map(json.loads, proc.stdout.strip().splitlines())
    assert records == json.loads(json.dumps(seqlit.deploy.load(folders["tagger"]).predict_text(TEXTS)))
    assert all(m == "seqlit" or m.startswith("seqlit.runtime") for m in modules), modules


def test_runtime_text_helpers_equal_the_data_modules():
    from data_modules import sentiment_encode, tagging_encode, tagging_files
    from seqlit.metrics import bio_spans
    from seqlit.runtime import text

    assert text.TAGGING_TOKEN.pattern == tagging_files.TOKEN.pattern
    assert text.TAGGING_TOKEN.flags == tagging_files.TOKEN.flags
    assert text.SENTIMENT_TOKEN.pattern == sentiment_encode.TOKEN.pattern
    for token in ["Paris", "paris", "NATO", "1996-08-22", "U.S.", "O'Neill", "iPhone", ",", "É", "x2"]:
        assert text.casing(token) == tagging_encode.casing(token)
        for lowercase in (False, True):
            for digits in (False, True):
                assert text.word_key(token, lowercase, digits) == tagging_encode.word_key(token, lowercase, digits)
    rng = random.Random(0)
    names = ["O", "B-PER", "I-PER", "B-LOC", "I-LOC", "E-LOC", "S-PER", "."]
    for _ in range(500):
        tags = [rng.choice(names) for _ in range(rng.randint(0, 9))]
        assert text.spans(tags) == bio_spans(tags), tags


def test_runtime_viterbi_equals_the_crf():
    from seqlit.nn.crf import CRF
    from seqlit.runtime.tagger import viterbi

    torch.manual_seed(0)
    names = ["O", "B-PER", "I-PER", "B-LOC", "I-LOC"]
    crf = CRF(len(names), names)
    emissions = torch.randn(6, 11, len(names))
    lengths = torch.tensor([11, 1, 4, 7, 11, 2])
    mask = torch.arange(11) < lengths[:, None]
    want = crf.decode(emissions, mask)
    scores = [s.detach().numpy() for s in crf._scores()]
    for row, n, path in zip(emissions.numpy(), lengths.tolist(), want.tolist()):
        assert viterbi(row[:n], *scores) == path[:n]


@pytest.mark.parametrize("name", [GRAPH, RUNTIME, "vocab.json"])
def test_runtime_names_a_missing_file(folders, tmp_path, name):
    import shutil

    folder = tmp_path / "tagger"
    shutil.copytree(folders["tagger"], folder)
    (folder / name).unlink()
    with pytest.raises(ModelFolderError, match=f"has no {name}"):
        runtime_load(folder)


def test_runtime_names_a_truncated_graph(folders, tmp_path):
    import shutil

    folder = tmp_path / "tagger"
    shutil.copytree(folders["tagger"], folder)
    data = (folder / GRAPH).read_bytes()
    (folder / GRAPH).write_bytes(data[: len(data) // 3])
    with pytest.raises(ModelFolderError, match=r"model\.onnx' is truncated or not an ONNX graph"):
        runtime_load(folder)


def test_runtime_refuses_a_folder_without_onnx(tmp_path):
    folder = seqlit.deploy.export(str(LEGACY / "tagger.ckpt"), tmp_path / "plain")
    with pytest.raises(ModelFolderError, match="has no runtime.json.*--format onnx"):
        runtime_load(folder)


def test_runtime_refuses_a_non_string(folders):
    with pytest.raises(ModelFolderError, match="item 1 is a int"):
        runtime_load(folders["classifier"]).predict_text(["good", 3])


def scratch_checkpoint(tmp_path):
    """The legacy Seq2Seq checkpoint with its encoder on `backend: scratch` (same weights), which has no graph."""
    ckpt = torch.load(LEGACY / "seq2seq.ckpt", weights_only=False)
    ckpt["hyper_parameters"]["backend"] = "scratch"  # the fixture's layout, before `backbone:` (seqlit/io/upgrades.py)
    torch.save(ckpt, tmp_path / "scratch.ckpt")
    return tmp_path / "scratch.ckpt"


def test_onnx_export_of_an_unsupported_model_leaves_nothing(tmp_path):
    ckpt = scratch_checkpoint(tmp_path)
    with pytest.raises(SeqlitError, match="backend 'scratch', whose time loop has no dynamic-length graph"):
        seqlit.deploy.export(str(ckpt), tmp_path / "out" / "s2s", onnx=True)
    assert list((tmp_path / "out").iterdir()) == []


def test_export_command_format_onnx(tmp_path):
    proc = run_seqlit("export", "--ckpt_path", str(LEGACY / "tagger.ckpt"), "--out", "model", "--format", "onnx",
                      cwd=tmp_path)
    assert "model folder written" in proc.stdout
    assert {GRAPH, RUNTIME, "model.safetensors", "config.json", "vocab.json"} <= {p.name for p in (tmp_path / "model").iterdir()}
    bad = run_seqlit("export", "--ckpt_path", str(scratch_checkpoint(tmp_path)), "--out", "s2s", "--format", "onnx",
                     cwd=tmp_path, check=False)
    assert bad.returncode == 2 and bad.stderr.count("\n") == 1 and "backend 'scratch'" in bad.stderr
    assert not (tmp_path / "s2s").exists()


SPEC_TAGS = {"vocab_size": 30, "pad_id": 0, "unk_id": 1, "rare_start": 30, "char_vocab_size": 45, "char_pad_id": 0,
             "num_casings": 6, "label_names": ["O", "B-PER", "I-PER", "B-LOC", "I-LOC"]}
SPEC_LABELS = {"vocab_size": 30, "pad_id": 0, "unk_id": 1, "label_names": ["a", "b", "c"]}


@pytest.mark.parametrize("task,settings", [
    ("tagger", {"char_encoder": "rnn", "char_features": 6}),
    ("tagger", {"char_encoder": "none", "output": "softmax",
                "backbone": {"init_args": {"kind": "gru", "hidden_size": 6, "num_layers": 2, "bidirectional": True}}}),
    ("classifier", {"pooling": "last", "backbone": {"init_args": {"kind": "rnn", "hidden_size": 6, "bidirectional": True}}}),
    ("classifier", {"pooling": "attention", "ensemble": 2,
                    "backbone": {"init_args": {"kind": "lstm", "hidden_size": 6, "num_layers": 2}}}),
    ("classifier", {"pooling": "mean", "backbone": {"init_args": {"kind": "gru", "hidden_size": 6}}}),
], ids=["char-rnn", "gru2-softmax", "rnn-last", "lstm2-attention-ensemble", "gru-mean"])
def test_graph_matches_pytorch_for_other_settings(tmp_path, task, settings):
    import onnxruntime as ort

    from seqlit.deploy.onnx_graph import write_onnx
    from seqlit.tasks import Classifier, Tagger

    torch.manual_seed(0)
    model = (Tagger(SPEC_TAGS, embedding_dim=8, casing_dim=3, **settings) if task == "tagger"
             else Classifier(SPEC_LABELS, embedding_dim=8, **settings)).eval()
    write_onnx(model, tmp_path)
    session, graph = ort.InferenceSession(str(tmp_path / GRAPH), providers=["CPUExecutionProvider"]), graph_of(model)
    for batch, length in [(1, 4), (6, 10)]:
        args, real = padded_batch(task, batch, length, seed=length)
        with torch.no_grad():
            want = graph(*args).numpy()
        feeds = {i.name for i in session.get_inputs()}  # an input the network does not read is not in the graph
        got = session.run(None, {name: a.numpy() for name, a in zip(graph.inputs, args) if name in feeds})[0]
        if task == "tagger":
            got, want = got[real.numpy()], want[real.numpy()]
        np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-4)


def test_runtime_tagger_without_character_features(tmp_path):
    """A tagger with `char_encoder: none` has no `chars` graph input: the runtime feeds only what the graph reads."""
    import onnxruntime as ort

    from seqlit.deploy.onnx_graph import runtime_spec, write_onnx
    from seqlit.runtime.tagger import OnnxTagger
    from seqlit.tasks import Tagger

    torch.manual_seed(0)
    model = Tagger(SPEC_TAGS, embedding_dim=8, casing_dim=3, char_encoder="none").eval()
    write_onnx(model, tmp_path)
    words = ["<pad>", "<unk>"] + [f"w{i}" for i in range(28)]
    vocab = {"words": {"tokens": words, "unk": "<unk>"}, "chars": {"tokens": ["<pad>", "<unk>"], "unk": "<unk>"},
             "tag_names": SPEC_TAGS["label_names"], "lowercase": True, "normalize_digits": False}
    config = {"data": {"init_args": {"max_word_length": 20, "eval_batch_size": 2}}}
    tagger = OnnxTagger(runtime_spec(model), config, vocab,
                        ort.InferenceSession(str(tmp_path / GRAPH), providers=["CPUExecutionProvider"]))
    records = tagger.predict_text(["w3 W4 w5 zz", "w7", "", "w1 w2"])
    ids = torch.tensor([[5, 6, 7, 1], [9, 0, 0, 0]])
    casing = torch.tensor([[4, 4, 4, 1], [4, 0, 0, 0]])  # a digit in the word: class 4
    with torch.no_grad():
        emissions = model.emissions({"input_ids": ids, "casing": casing, "chars": None, "lengths": torch.tensor([4, 1])})
        want = model.decode(emissions, torch.arange(4) < torch.tensor([4, 1])[:, None]).tolist()
    names = SPEC_TAGS["label_names"]
    assert [r["tags"] for r in records[:2]] == [[names[t] for t in want[0]], [names[want[1][0]]]]
    assert records[2] == {"index": 2, "skipped": "blank line"} and len(records[3]["tags"]) == 2


@pytest.fixture(scope="module")
def lm_folder(tmp_path_factory):
    return seqlit.deploy.export(str(LEGACY / "language_model.ckpt"), tmp_path_factory.mktemp("lm") / "lm", onnx=True)


def test_language_model_graph_matches_pytorch(lm_folder):
    """From a zero state (what scoring feeds), the graph's log-probabilities are torch's `step(ids)` (state None)."""
    import onnxruntime as ort

    from seqlit.runtime import state

    model = seqlit.deploy.load(lm_folder)
    session = ort.InferenceSession(str(lm_folder / GRAPH), providers=["CPUExecutionProvider"])
    for batch, length in [(1, 1), (5, 17)]:
        ids = torch.randint(2, 20, (batch, length), generator=torch.Generator().manual_seed(length))
        with torch.no_grad():
            want = model.step(ids)[0].numpy()
        got = state.run(session, {"input_ids": ids.numpy()}, state.zeros(session, batch))[0]["log_probs"]
        np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-4)


def test_language_model_runtime_perplexity_equals_predict_text(lm_folder):
    lines = (LEGACY / "data" / "lm.txt").read_text(encoding="utf-8").splitlines()
    if SHARED_DATA.is_dir():
        table = pq.read_table(SHARED_DATA / "wikitext-2" / "test.parquet")  # the whole test split
        lines += table.column(table.column_names[0]).to_pylist()
    texts = TEXTS + lines
    got, want = runtime_load(lm_folder).predict_text(texts, batch_size=16), seqlit.deploy.load(lm_folder).predict_text(texts)
    assert len(got) == len(want) == len(texts)
    for g, w in zip(got, want):
        assert g.keys() == w.keys() and g.get("tokens") == w.get("tokens") and g.get("skipped") == w.get("skipped")
        if "ppl" in w:
            assert g["ppl"] == pytest.approx(w["ppl"], rel=1e-4) and g["nll"] == pytest.approx(w["nll"], rel=1e-4)
