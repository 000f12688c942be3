"""`model.predict_text([...])`: a checkpoint loaded in plain Python predicts on raw strings with its own vocabulary
and tokenizer, giving the records `predict` writes (the same encoding and `predict_step`).

On the 0.1 fixtures the records are those `predict` wrote at 0.1 (tests/fixtures/legacy/expected.json); on
checkpoints the current code writes (tests/test_load_from_checkpoint.py) they are those today's `predict` writes.
A language model scores each text; the score is checked against a token-by-token walk with `step`.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
import torch

from seqlit.errors import SeqlitError
from tests.conftest import REPO, run_seqlit

LEGACY = REPO / "tests" / "fixtures" / "legacy"
EXPECTED = json.loads((LEGACY / "expected.json").read_text(encoding="utf-8"))
LM_TEXTS = ["the cat sat .", "", "zebra quux"]


def load(path):
    from tests.test_load_from_checkpoint import task_class
    from seqlit.io.checkpoints import load_checkpoint

    return task_class(load_checkpoint(path)).load_from_checkpoint(path)


def same_records(got: list[dict], want: list[dict]) -> None:
    assert len(got) == len(want)
    for g, w in zip(got, want):
        if "probs" in w:
            assert g["probs"] == pytest.approx(w["probs"], abs=1e-5)
            g, w = {k: v for k, v in g.items() if k != "probs"}, {k: v for k, v in w.items() if k != "probs"}
        assert g == w


def stepped_nll(model, text: str) -> tuple[float, int]:
    """Mean NLL per token of `text` after a line break, one `step` at a time (state carried): an independent walk."""
    dm = model.eval().data_module()
    ids = dm.vocab.encode(dm.tokenize("")[-1:] + dm.tokenize(text))
    total, state = 0.0, None
    with torch.no_grad():
        for prev, nxt in zip(ids, ids[1:]):
            log_probs, state = model.step(torch.tensor([[prev]]), state)
            total -= float(log_probs[0, -1, nxt])
    return total / (len(ids) - 1), len(ids) - 1


def check_language_model(model) -> None:
    records = model.predict_text(LM_TEXTS, batch_size=2)
    assert model.training  # predict_text evaluates in eval mode and gives the model back as it was
    assert records[1] == {"index": 1, "skipped": "blank line"}
    for i in (0, 2):
        nll, n = stepped_nll(model, LM_TEXTS[i])
        assert records[i]["index"] == i and records[i]["text"] == LM_TEXTS[i] and records[i]["tokens"] == n
        assert records[i]["nll"] == pytest.approx(nll, abs=1e-4)
        assert records[i]["ppl"] == pytest.approx(math.exp(nll), rel=1e-4)


def check_predict_text(folder: Path, task: str, ckpt: Path) -> None:
    """predict_text on a fresh checkpoint gives what `predict --predict_output` writes for the same lines."""
    model = load(ckpt)
    if task == "language_model":
        check_language_model(model)
        return
    lines = EXPECTED[task]["predict_input"].splitlines()
    (folder / "input.txt").write_text("\n".join(lines) + "\n", encoding="utf-8")
    run_seqlit("predict", "--ckpt_path", str(ckpt), "--data.init_args.predict_file", "input.txt",
               "--predict_output", "out.jsonl", "--trainer.logger", "false", "--trainer.enable_progress_bar", "false",
               cwd=folder)
    written = [json.loads(x) for x in (folder / "out.jsonl").read_text(encoding="utf-8").splitlines()]
    same_records(model.predict_text(lines), written)


@pytest.mark.parametrize("task", sorted(t for t in EXPECTED if "predict" in EXPECTED[t]))
def test_legacy_checkpoint_predicts_text_as_predict_did(task):
    model = load(LEGACY / f"{task}.ckpt")
    assert model._trainer is None
    same_records(model.predict_text(EXPECTED[task]["predict_input"].splitlines()), EXPECTED[task]["predict"])


def test_legacy_language_model_scores_texts():
    check_language_model(load(LEGACY / "language_model.ckpt"))


def test_blank_texts_keep_their_place_and_batches_do_not_matter():
    model = load(LEGACY / "classifier.ckpt")
    texts = ["the film is great .", "   ", "the cast is awful .", ""]
    one_batch, small_batches = model.predict_text(texts), model.predict_text(texts, batch_size=1)
    assert [r["index"] for r in one_batch] == [0, 1, 2, 3]
    assert one_batch[1] == {"index": 1, "skipped": "blank line"} and one_batch[3] == {"index": 3, "skipped": "blank line"}
    same_records(small_batches, one_batch)
    want = EXPECTED["classifier"]["predict"]
    same_records([one_batch[0], one_batch[2]], [want[0], {**want[1], "index": 2}])


def test_tagger_reads_pre_tokenized_dicts_like_json_lines():
    model = load(LEGACY / "tagger.ckpt")
    [record] = model.predict_text([{"tokens": ["Maria", "works", "for", "Siemens", "in", "Paris", "."]}])
    assert record["tags"] == EXPECTED["tagger"]["predict"][0]["tags"]


def test_predict_text_refuses_what_is_not_a_list_of_texts():
    model = load(LEGACY / "classifier.ckpt")
    with pytest.raises(SeqlitError, match="list of texts"):
        model.predict_text("the film is great .")
    with pytest.raises(SeqlitError, match="item 1 is a int"):
        model.predict_text(["fine", 3])


def test_a_model_built_without_a_checkpoint_says_how_to_get_a_vocabulary():
    from seqlit.tasks import Classifier

    model = Classifier(data_spec={"vocab_size": 10, "pad_id": 0, "unk_id": 1, "label_names": ["a", "b"]})
    with pytest.raises(SeqlitError, match="load_from_checkpoint"):
        model.predict_text(["some text"])
