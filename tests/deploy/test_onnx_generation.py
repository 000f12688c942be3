"""The step graphs of `export --format onnx` (seqlit/deploy/onnx_steps.py) and what the runtime drives with them.

Graph parity: the language model's and the conditional LM's step from a given state, the encoder–decoder's
encoder and one decoder step, within 1e-4 of PyTorch (log-probabilities and states), on padded batches and
for other settings (LSTM/GRU, layers, attention kinds, condition modes). Decoding parity: the runtime's
greedy and beam search give the torch task's translations on the whole DatesData test split (the legacy
fixture's 16 and a fresh 2,000); its greedy continuations are `seqlit generate`'s, token for token, for the
language model and the conditional LM under each condition. Sampling: numpy's draws follow torch's
distribution (top-k, top-p, temperature) and are reproducible by seed.
"""

from __future__ import annotations

import numpy as np
import onnxruntime as ort
import pyarrow.parquet as pq
import pytest
import torch

import seqlit.deploy
from seqlit.callbacks.samples import continuation, encode_prompt
from seqlit.deploy.onnx_graph import RUNTIME, graphs_of, write_onnx
from seqlit.generation import pick as torch_pick
from seqlit.generation import sample
from seqlit.runtime import ModelFolderError, load as runtime_load
from seqlit.runtime import state as steps
from seqlit.runtime.sampling import pick
from seqlit.runtime.seq2seq import OnnxSeq2Seq
from tests.conftest import SHARED_DATA
from tests.deploy.test_onnx import LEGACY

PROMPTS = ["", "the", "the film is", "a dog", "zebra quux", "The Cast"]


def session(path):
    return ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])


def close(got, want):
    np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-4)


@pytest.fixture(scope="module")
def folders(tmp_path_factory):
    root = tmp_path_factory.mktemp("steps")
    return {task: seqlit.deploy.export(str(LEGACY / f"{task}.ckpt"), root / task, onnx=True)
            for task in ("seq2seq", "language_model", "conditional_lm")}


def random_state(backbone, batch: int, seed: int) -> tuple[torch.Tensor, ...]:
    g = torch.Generator().manual_seed(seed)
    shape = (backbone.num_layers * backbone.num_directions, batch, backbone.hidden_size)
    return tuple(torch.randn(shape, generator=g) * 0.5 for _ in range(backbone.state_parts))


def as_state(parts):
    return parts if len(parts) > 1 else parts[0]


def named(parts, prefix: str = "") -> dict:
    return {f"{prefix}{n}": p.numpy() for n, p in zip(steps.NAMES, parts)}


# -- graph parity -------------------------------------------------------------------------------
def check_language_model(model, path, vocab: int):
    s = session(path)
    for batch, length in [(1, 1), (5, 13)]:
        ids = torch.randint(2, vocab, (batch, length), generator=torch.Generator().manual_seed(length))
        state = random_state(model.backbone, batch, seed=length)
        with torch.no_grad():
            log_probs, final = model.step(ids, as_state(state))
        out, _ = steps.run(s, {"input_ids": ids.numpy()}, named(state))
        close(out["log_probs"], log_probs.numpy())
        for name, part in zip(steps.NAMES, final if isinstance(final, tuple) else (final,)):
            close(out[f"next_{name}"], part.numpy())


def check_conditional(model, path, vocab: int):
    s = session(path)
    fields = len(model.condition_fields)
    for batch, length in [(1, 1), (4, 9)]:
        g = torch.Generator().manual_seed(batch)
        ids = torch.randint(4, vocab, (batch, length), generator=g)
        conditions = torch.stack([torch.randint(0, len(n), (batch,), generator=g) for n in model.condition_fields.values()], -1)
        state = random_state(model.backbone, batch, seed=length)
        feeds = {"input_ids": ids.numpy(), "conditions": conditions.numpy().reshape(batch, fields)}
        with torch.no_grad():
            fresh_want = model.step(ids, conditions)[0].numpy()  # state None: the condition's start
            carried_want = model.step(ids, conditions, as_state(state))[0].numpy()
        fresh = steps.run(s, {**feeds, "fresh": np.ones(batch, dtype=bool)}, named(state))[0]["log_probs"]
        carried = steps.run(s, {**feeds, "fresh": np.zeros(batch, dtype=bool)}, named(state))[0]["log_probs"]
        close(fresh, fresh_want)
        close(carried, carried_want)


def check_seq2seq(model, folder, source_vocab: int):
    encoder, decoder = session(folder / "encoder.onnx"), session(folder / "decoder.onnx")
    for batch, length in [(1, 1), (6, 11)]:
        g = torch.Generator().manual_seed(length)
        lengths = torch.randint(1, length + 1, (batch,), generator=g)
        lengths[0] = length
        ids = torch.randint(4, source_vocab, (batch, length), generator=g).masked_fill(torch.arange(length) >= lengths[:, None], 0)
        with torch.no_grad():
            memory, mask, keys, start = model.encode(ids, lengths)  # the packed path, as predict runs it
        names = [o.name for o in encoder.get_outputs()]
        out = dict(zip(names, encoder.run(names, {"source_ids": ids.numpy(), "source_lengths": lengths.numpy()})))
        close(out["memory"], memory.numpy())
        if keys is not None:
            close(out["keys"], keys.numpy())
        start = start if isinstance(start, tuple) else (start,)
        for name, part in zip(steps.NAMES, start):
            close(out[name], part.numpy())
        y = torch.randint(4, model.out.out_features, (batch,), generator=g)
        state = random_state(model.decoder, batch, seed=batch)
        with torch.no_grad():
            want, final = model.next_log_probs(y, as_state(state), memory, mask, keys)
        feeds = {"y": y.numpy(), "memory": memory.numpy(), "mask": mask.numpy(), **({} if keys is None else {"keys": keys.numpy()})}
        got, next_state = steps.run(decoder, feeds, named(state))
        close(got["log_probs"], want.numpy())  # -inf where <pad> and <bos> are never written, on both sides
        for part, name in zip(final if isinstance(final, tuple) else (final,), steps.NAMES):
            close(next_state[name], part.numpy())


def test_legacy_step_graphs_match_pytorch(folders):
    check_seq2seq(seqlit.deploy.load(folders["seq2seq"]), folders["seq2seq"], 20)
    check_language_model(seqlit.deploy.load(folders["language_model"]), folders["language_model"] / "model.onnx", 20)
    check_conditional(seqlit.deploy.load(folders["conditional_lm"]), folders["conditional_lm"] / "model.onnx", 20)


SPEC_S2S = {"source_vocab_size": 25, "target_vocab_size": 19, "source_pad_id": 0, "target_pad_id": 0, "bos_id": 2, "eos_id": 3}
SPEC_COND = {"vocab_size": 21, "pad_id": 0, "level": "word",
             "condition_fields": {"label": ["negative", "positive"], "topic": ["<unk>", "news", "film"]}}


def recurrent(kind: str, hidden: int = 6, **more) -> dict:
    return {"class_path": "seqlit.nn.Recurrent", "init_args": {"kind": kind, "hidden_size": hidden, **more}}


S2S_SETTINGS = {
    "lstm-multiplicative": dict(backbone=recurrent("lstm", bidirectional=True), decoder=recurrent("lstm", 7, num_layers=2),
                                attention="multiplicative"),
    "gru2-additive": dict(backbone=recurrent("gru", num_layers=2), decoder=recurrent("gru", 5), attention="additive"),
    "rnn-none": dict(backbone=recurrent("rnn", bidirectional=True), decoder=recurrent("lstm", 6), attention="none"),
}


def seq2seq_model(name: str):
    torch.manual_seed(0)
    from seqlit.tasks import Seq2Seq

    return Seq2Seq(SPEC_S2S, embedding_dim=8, max_output_length=12, beam_size=3, **S2S_SETTINGS[name]).eval()


@pytest.mark.parametrize("name", list(S2S_SETTINGS))
def test_seq2seq_graphs_and_search_match_pytorch_for_other_settings(tmp_path, name):
    """Encoder and decoder step within 1e-4, and the runtime's greedy and beam search the torch task's, token for token."""
    model = seq2seq_model(name)
    write_onnx(model, tmp_path)
    check_seq2seq(model, tmp_path, SPEC_S2S["source_vocab_size"])
    import json

    spec = {**json.loads((tmp_path / RUNTIME).read_text()), "text": {"kind": "word", "lowercase": False}}
    vocab = {"source": {"tokens": ["<pad>", "<unk>"] + [f"s{i}" for i in range(23)], "unk": "<unk>"},
             "target": {"tokens": ["<pad>", "<unk>", "<bos>", "<eos>"] + [f"t{i}" for i in range(15)]}}
    runtime = OnnxSeq2Seq(spec, {"data": {"init_args": {}}}, vocab,
                          {"encoder": session(tmp_path / "encoder.onnx"), "decoder": session(tmp_path / "decoder.onnx")})
    g = torch.Generator().manual_seed(1)
    rows = [torch.randint(2, 25, (int(n),), generator=g).tolist() for n in torch.randint(1, 9, (7,), generator=g)]
    ids = torch.zeros(len(rows), max(map(len, rows)), dtype=torch.long)
    for i, row in enumerate(rows):
        ids[i, : len(row)] = torch.tensor(row)
    lengths = torch.tensor([len(r) for r in rows])
    assert runtime.greedy(rows, 12) == model.greedy(ids, lengths)
    for k, alpha in [(3, 0.7), (1, 0.0), (4, 1.0)]:
        assert runtime.beam_search(rows, k, alpha, 12) == model.beam_search(ids, lengths, k, alpha)


@pytest.mark.parametrize("mode,kind", [("both", "lstm"), ("init", "gru"), ("concat", "rnn"), ("none", "lstm")])
def test_conditional_graph_matches_pytorch_for_other_settings(tmp_path, mode, kind):
    from seqlit.tasks import ConditionalLanguageModel

    torch.manual_seed(0)
    model = ConditionalLanguageModel(SPEC_COND, backbone=recurrent(kind, 6, num_layers=2), condition=mode,
                                     condition_dim=[3, 4], embedding_dim=8).eval()
    write_onnx(model, tmp_path)
    check_conditional(model, tmp_path / "model.onnx", SPEC_COND["vocab_size"])


@pytest.mark.parametrize("kind", ["gru", "lstm"])
def test_language_model_graph_matches_pytorch_from_a_state(tmp_path, kind):
    from seqlit.tasks import LanguageModel

    torch.manual_seed(0)
    model = LanguageModel({"vocab_size": 23, "pad_id": 0, "level": "word"}, backbone=recurrent(kind, 8, num_layers=2),
                          embedding_dim=8).eval()
    write_onnx(model, tmp_path)
    check_language_model(model, tmp_path / "model.onnx", 23)


def test_step_graphs_have_dynamic_axes_and_no_packing(folders):
    import onnx

    for name in ("seq2seq/encoder.onnx", "seq2seq/decoder.onnx", "language_model/model.onnx", "conditional_lm/model.onnx"):
        graph = onnx.load(str(folders[name.split("/")[0]].parent / name)).graph
        assert not any("Pack" in node.op_type for node in graph.node), name
        assert any(node.op_type in ("GRU", "LSTM", "RNN") for node in graph.node), name
        for value in graph.input:
            dims = value.type.tensor_type.shape.dim
            axis = 1 if value.name in steps.NAMES else 0
            assert dims[axis].dim_param == "batch", (name, value.name)
    assert [g.file for g in graphs_of(seqlit.deploy.load(folders["seq2seq"]))] == ["encoder.onnx", "decoder.onnx"]


# -- decoding and generation parity -------------------------------------------------------------
@pytest.mark.parametrize("decode", ["greedy", "beam"])
@pytest.mark.parametrize("size", [None, 2000], ids=["fixture-test-split", "test-split-2000"])
def test_runtime_translates_the_dates_test_split_as_pytorch(folders, decode, size):
    """The whole test split of the fixture's DatesData (16 pairs), and a fresh one of 2,000 with the same vocabulary."""
    from data_modules import DatesData

    model, runtime = seqlit.deploy.load(folders["seq2seq"]), runtime_load(folders["seq2seq"])
    dm = model.data_module() if size is None else DatesData(test_size=size, seed=0)
    sources, _ = dm.pairs("test")
    model.decode = decode
    want = model.predict_text(sources)
    got = runtime.predict_text(sources, decode=decode, batch_size=256)
    assert len(got) == len(sources) and got == want
    if decode == "beam":  # other settings than the checkpoint's, passed as the torch task's beam_search takes them
        model.beam_size, model.alpha = 2, 0.0
        assert runtime.predict_text(sources[:200], decode="beam", beam_size=2, alpha=0.0) == model.predict_text(sources[:200])


def test_runtime_seq2seq_records_and_blank_lines(folders):
    records = runtime_load(folders["seq2seq"]).predict_text(["  3rd of March 2021 ", "", "Wed 03/03/21"])
    assert [r.get("source") for r in records] == ["3rd of March 2021", None, "Wed 03/03/21"]
    assert records[1] == {"index": 1, "skipped": "blank line"} and all(isinstance(records[i]["translation"], str) for i in (0, 2))
    with pytest.raises(ModelFolderError, match="decode must be 'greedy' or 'beam'"):
        runtime_load(folders["seq2seq"]).predict_text(["1 May 2000"], decode="sampled")


def shared_prompts(split: str, column: str, count: int = 40) -> list[str]:
    if not SHARED_DATA.is_dir():
        return []
    texts = pq.read_table(SHARED_DATA / split / "test.parquet").column(column).to_pylist()
    return [" ".join(t.split()[:3]) for t in texts if t.strip()][:count]


def test_runtime_greedy_continuation_is_generates(folders):
    """Temperature 0: the runtime's continuation is `seqlit.generation.sample`'s (what `generate` prints), exactly."""
    model, runtime = seqlit.deploy.load(folders["language_model"]), runtime_load(folders["language_model"])
    dm = model.data_module()
    for prompt in PROMPTS + shared_prompts("wikitext-2", "text"):
        for stop in (False, True):
            ids = sample(model, encode_prompt(dm, prompt), 30, temperature=0,
                         stop_id=dm.vocab.encode([dm.stop_token])[0] if stop else None)
            assert runtime.generate_ids(prompt, max_tokens=30, temperature=0, stop_at_eos=stop) == ids, prompt
            assert runtime.generate(prompt, max_tokens=30, temperature=0, stop_at_eos=stop) == continuation(dm, prompt, ids)


def test_runtime_conditional_greedy_continuation_is_generates(folders):
    model, runtime = seqlit.deploy.load(folders["conditional_lm"]), runtime_load(folders["conditional_lm"])
    dm = model.data_module()
    eos = dm.vocab.encode([dm.stop_token])[0]
    for condition in ("negative", "positive", "label=positive"):
        writer = model.conditioned(dm.condition_ids(condition))
        for prompt in PROMPTS + shared_prompts("sst2", "sentence"):
            ids = sample(writer, encode_prompt(dm, prompt), 25, temperature=0, stop_id=eos)
            assert runtime.generate(prompt, condition, max_tokens=25, temperature=0) == continuation(dm, prompt, ids)
    # the fixture's recorded `generate --condition positive --temperature 0 --max_tokens 8`
    import json

    recorded = json.loads((LEGACY / "conditional_lm.json").read_text())["generate"]["positive"]["stdout"]
    assert runtime.generate("", "positive", max_tokens=8, temperature=0) + "\n" == recorded


def test_runtime_sampling_is_seeded_and_within_the_options(folders):
    runtime = runtime_load(folders["conditional_lm"])
    first = runtime.generate_ids("the", "negative", max_tokens=20, seed=5)
    assert first == runtime.generate_ids("the", "negative", max_tokens=20, seed=5)
    assert any(runtime.generate_ids("the", "negative", max_tokens=20, seed=s) != first for s in range(6, 10))
    assert runtime.generate_ids("the", "positive", max_tokens=20, top_k=1, seed=3) == \
        runtime.generate_ids("the", "positive", max_tokens=20, temperature=0)
    lm = runtime_load(folders["language_model"])
    assert lm.generate_ids("a", max_tokens=15, top_p=1e-6, seed=2) == lm.generate_ids("a", max_tokens=15, temperature=0)


@pytest.mark.parametrize("options", [dict(temperature=1.0), dict(temperature=0.5, top_k=3), dict(temperature=1.3, top_p=0.6),
                                     dict(temperature=0.9, top_k=4, top_p=0.8)])
def test_pick_draws_from_torchs_distribution(options):
    """Over many draws, numpy's `pick` and torch's give each token the same frequency (within sampling noise),
    and none outside top-k / top-p."""
    log_probs = torch.log_softmax(torch.tensor([2.0, 1.5, 1.4, 0.3, -0.5, -1.0, 0.9, -3.0]), dim=-1)
    draws = 6000
    g, rng = torch.Generator().manual_seed(0), np.random.default_rng(0)
    top_k, top_p, temperature = options.get("top_k"), options.get("top_p"), options["temperature"]
    want = np.bincount([torch_pick(log_probs, temperature, top_k, g, top_p) for _ in range(draws)], minlength=8) / draws
    got = np.bincount([pick(log_probs.numpy(), temperature, top_k, top_p, rng) for _ in range(draws)], minlength=8) / draws
    assert np.all((want == 0) == (got == 0)), (want, got)
    np.testing.assert_allclose(got, want, atol=0.03)


@pytest.mark.parametrize("condition,match", [
    (None, r"condition None does not name one known value per field: pass label=NAME or the bare name"),
    ("neutral", r"condition 'neutral' does not name one known value .*the model knows label: 'negative', 'positive'"),
    ("label=positive,label=negative", "does not name one known value per field"),
])
def test_runtime_conditional_refuses_an_unknown_condition(folders, condition, match):
    with pytest.raises(ModelFolderError, match=match):
        runtime_load(folders["conditional_lm"]).generate("the", condition)


@pytest.mark.parametrize("options,match", [
    (dict(max_tokens=0), "max_tokens must be a positive number of tokens, got 0"),
    (dict(temperature=float("nan")), "temperature must be 0 .greedy. or more, a finite number, got nan"),
    (dict(top_k=10_000), "top_k must be 1 to the vocabulary's"),
    (dict(top_p=0.0), "top_p must be a probability above 0 and at most 1, got 0.0"),
])
def test_runtime_generate_refuses_bad_options(folders, options, match):
    with pytest.raises(ModelFolderError, match=match):
        runtime_load(folders["language_model"]).generate("a", **options)


def test_runtime_condition_ids_equal_the_data_modules():
    from data_modules.conditions import condition_ids as torch_ids
    from seqlit.runtime.conditional_lm import condition_ids

    fields = SPEC_COND["condition_fields"]
    for text in ("label=positive,topic=news", " topic = film , label=negative", "label=negative,topic=<unk>"):
        assert condition_ids(text, fields) == torch_ids(text, fields)
    one = {"speaker": ["<unk>", "ROMEO", "JULIET"]}
    assert condition_ids("JULIET", one) == torch_ids("JULIET", one) == condition_ids("speaker=JULIET", one)
    for bad in ("label=positive", "topic=news,label=happy", "positive"):
        with pytest.raises(ModelFolderError):
            condition_ids(bad, fields)


def test_runtime_parallel_text_helpers_equal_the_data_modules():
    from data_modules import parallel_encode
    from seqlit.runtime import text

    assert text.PARALLEL_TOKEN.pattern == parallel_encode.TOKEN.pattern
    assert text.NO_SPACE_BEFORE.pattern == parallel_encode.NO_SPACE_BEFORE.pattern
    assert text.NO_SPACE_AFTER.pattern == parallel_encode.NO_SPACE_AFTER.pattern
    for sentence in ["Ein Mann (in Blau) sagt: \"Hallo!\" – don't t-shirt.", "3rd of March, 2021", "  "]:
        for kind in ("word", "char"):
            tokens = text.parallel_tokens(sentence, kind, True)
            assert tokens == parallel_encode.tokenize(sentence, kind, True)
            assert text.parallel_detokenize(tokens, kind) == parallel_encode.detokenize(tokens, kind)
