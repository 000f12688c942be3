"""Through the command line: vectors and an LM go into the task checkpoint, so predict needs neither; a resumed
fit never reads them again; a wrong dimension is one line; and the values the LM hands on are its own."""

from __future__ import annotations

import glob
import json
import types
from pathlib import Path

import pytest
import torch

from seqlit.io.checkpoints import load_checkpoint
from seqlit.errors import SeqlitError
from seqlit.transfer import pretrained as transfer
from seqlit.vocab import Vocab
from tests.conftest import REPO, run_seqlit
from tests.sentiment.corpus import make_sst_dir, sentences
from tests.transfer.models import classifier

SENTIMENT = REPO / "configs" / "sentiment"
QUIET = ["--trainer.logger", "false", "--trainer.enable_progress_bar", "false", "--trainer.enable_model_summary", "false",
         "--trainer.max_time", "null", "--test_after_fit", "false", "--num_threads", "1"]
SMALL = ["--model.init_args.embedding_dim", "8", "--model.init_args.backbone.hidden_size", "8",
         "--data.init_args.batch_size", "16"]
VECTORS = {"The": 1.0, "great": 2.0, "dull": -2.0, "film": 0.5}  # 'The' matches the lower-cased data's 'the'


def checkpoints(folder: Path, pattern: str = "*.ckpt") -> list[str]:
    return sorted(glob.glob(str(folder / "**" / "checkpoints" / pattern), recursive=True))


def predict(ckpt: str, cwd: Path) -> list[dict]:
    raw = cwd / "raw.txt"
    raw.write_text("What a great film!\nIt is dull.\n", encoding="utf-8")
    run_seqlit("predict", "--ckpt_path", ckpt, "--data.init_args.predict_file", str(raw), "--data.init_args.path",
               "no/longer/there", "--predict_output", "out.jsonl", "--trainer.logger", "false", cwd=cwd)
    return [json.loads(line) for line in (cwd / "out.jsonl").read_text(encoding="utf-8").splitlines()]


def test_vectors_fit_frozen_then_predict_and_resume_without_the_file(tmp_path):
    data = make_sst_dir(tmp_path / "sst", n_train=64)
    vectors = tmp_path / "vectors.txt"
    vectors.write_text("".join(f"{w} " + " ".join([str(v)] * 8) + "\n" for w, v in VECTORS.items()))
    proc = run_seqlit("fit", "--config", str(SENTIMENT / "sst2_bilstm.yaml"), "--data.init_args.path", str(data),
                      *SMALL, *QUIET, "--trainer.callbacks", "[]", "--trainer.max_epochs", "1",
                      "--model.init_args.pretrained.vectors", str(vectors), "--model.init_args.pretrained.freeze", "true",
                      cwd=tmp_path)
    assert "4 of 22 words (18.2%) have a vector, 3 exact and 1 lower-cased" in proc.stdout + proc.stderr
    last = checkpoints(tmp_path, "last.ckpt")[0]
    ckpt = load_checkpoint(last)
    tokens = ckpt["SentimentData"]["vocab"]["tokens"]["tokens"]
    weight = ckpt["state_dict"]["readers.0.embedding.weight"]
    for word, value in VECTORS.items():  # frozen: after training, the rows are still the file's
        assert torch.equal(weight[tokens.index(word.lower())], torch.full((8,), value))

    vectors.unlink()
    records = predict(last, tmp_path)
    assert len(records) == 2 and all(abs(sum(r["probs"].values()) - 1) < 1e-4 for r in records)
    # a resumed fit takes the weights from its checkpoint: it does not look for the deleted file
    run_seqlit("fit", "--ckpt_path", last, "--trainer.max_epochs", "2", *QUIET, cwd=tmp_path)


def test_a_wrong_dimension_ends_the_run_in_one_line(tmp_path):
    data = make_sst_dir(tmp_path / "sst", n_train=32)
    vectors = tmp_path / "glove.txt"
    vectors.write_text("the 1 2 3\ngreat 4 5 6\n")
    proc = run_seqlit("fit", "--config", str(SENTIMENT / "sst2_bilstm.yaml"), "--data.init_args.path", str(data),
                      *SMALL, *QUIET, "--trainer.callbacks", "[]", "--trainer.max_epochs", "1",
                      "--model.init_args.pretrained.vectors", str(vectors), cwd=tmp_path, check=False)
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert lines[-1].startswith("seqlit: error: model.pretrained.vectors") and "3-dimensional" in lines[-1]
    assert "--model.init_args.embedding_dim 3" in lines[-1] and "Traceback" not in proc.stderr


@pytest.fixture(scope="module")
def language_model(tmp_path_factory) -> Path:
    """A tiny 2-layer word LSTM LM (16-d) trained a few steps on text sharing most words with the reviews."""
    tmp = tmp_path_factory.mktemp("lm")
    texts, _ = sentences(300, offset=5000)
    (tmp / "corpus.txt").write_text("\n".join(t.replace("film", "Film") for t in texts) + "\nan unrelated line .\n")
    run_seqlit("fit", "--config", str(REPO / "configs" / "quickstart.yaml"), "--data.init_args.path",
               str(tmp / "corpus.txt"), "--data.init_args.level", "word", "--data.init_args.batch_size", "4",
               "--data.init_args.bptt", "8", "--model.init_args.embedding_dim", "16",
               "--model.init_args.backbone.kind", "lstm", "--model.init_args.backbone.hidden_size", "16",
               "--model.init_args.backbone.num_layers", "2", "--trainer.max_steps", "6", "--trainer.callbacks", "[]",
               *QUIET, cwd=tmp)
    return Path(checkpoints(tmp, "last.ckpt")[0])


@pytest.mark.parametrize("bidirectional, num_layers, copied", [(True, 2, ["rnn.l0"]), (False, 2, ["rnn.l0", "rnn.l1"])])
def test_lm_rows_of_shared_words_and_backbone_units_are_copied(language_model, bidirectional, num_layers, copied):
    lm = load_checkpoint(language_model)
    lm_tokens = lm["LanguageModelingData"]["vocab"]["tokens"]["tokens"]
    lm_rows, lm_state = lm["state_dict"]["embedding.weight"], lm["state_dict"]
    tokens = ["<pad>", "<unk>", "the", "film", "great", "notinthelm"]
    m = classifier(tokens, bidirectional=bidirectional, num_layers=num_layers, pretrained={"lm": str(language_model)})
    before = {k: v.clone() for k, v in m.state_dict().items()}
    transfer.initialise(m, types.SimpleNamespace(vocab=Vocab(tokens)))
    weight = m.readers[0].embedding.weight.detach()
    assert torch.equal(weight[2], lm_rows[lm_tokens.index("the")])
    assert torch.equal(weight[3], lm_rows[lm_tokens.index("Film")])  # the LM saw only 'Film': matched ignoring case
    assert torch.equal(weight[4], lm_rows[lm_tokens.index("great")])
    assert torch.equal(weight[1], lm_rows[lm_tokens.index("<unk>")])
    assert torch.equal(weight[5], before["readers.0.embedding.weight"][5]) and weight[0].abs().sum() == 0
    state = m.state_dict()
    for key in [k for k in state if k.startswith("readers.0.backbone.rnn.")]:
        if key.rsplit("_", 1)[-1] in {unit[len("rnn."):] for unit in copied}:  # weight_ih_l0 is unit l0; *_l0_reverse is not
            assert torch.equal(state[key], lm_state["backbone." + key[len("readers.0.backbone."):]]), key
        else:
            assert torch.equal(state[key], before[key]), key


def test_a_narrower_embedding_or_another_cell_is_one_line(language_model):
    m = classifier(["<pad>", "<unk>", "the"], embedding_dim=8, pretrained={"lm": str(language_model)})
    with pytest.raises(SeqlitError, match=r"16-dimensional word vectors .* --model.init_args.embedding_dim 16"):
        transfer.initialise(m, types.SimpleNamespace(vocab=Vocab(["<pad>", "<unk>", "the"])))
    m = classifier(["<pad>", "<unk>", "the"], kind="gru", pretrained={"lm": str(language_model)})
    with pytest.raises(SeqlitError, match="no weight of the LM's backbone .*kind lstm.* fits") as err:
        transfer.initialise(m, types.SimpleNamespace(vocab=Vocab(["<pad>", "<unk>", "the"])))
    print(err.value)  # docs/errors.md quotes it (pytest -s)


def test_ulmfit_config_fits_then_predicts_without_the_lm(language_model, tmp_path):
    data = make_sst_dir(tmp_path / "sst", n_train=64)
    lm = tmp_path / "lm.ckpt"
    lm.write_bytes(language_model.read_bytes())
    proc = run_seqlit("fit", "--config", str(SENTIMENT / "sst2_bilstm_ulmfit.yaml"), "--data.init_args.path", str(data),
                      "--model.init_args.embedding_dim", "16", "--model.init_args.backbone.hidden_size", "16",
                      "--data.init_args.batch_size", "16", "--trainer.max_epochs", "2", *QUIET,
                      "--model.init_args.pretrained.lm", str(lm), cwd=tmp_path)
    out = proc.stdout + proc.stderr
    report = [line for line in out.splitlines() if "pretrained language model" in line]
    print(*report)  # docs/transfer.md quotes it (pytest -s)
    assert len(report) == 1 and "backbone units copied: rnn.l0, fresh: rnn.l0_reverse" in report[0]
    assert "epoch 0: the top 1 of 3 layer groups train" in out and "epoch 1: the top 2 of 3" in out
    lm.unlink()
    records = predict(checkpoints(tmp_path, "last.ckpt")[0], tmp_path)
    assert [r["text"] for r in records] == ["What a great film!", "It is dull."]


def test_a_misspelt_pretrained_key_is_one_line_with_a_suggestion(capsys):
    from seqlit.cli.main import main

    with pytest.raises(SystemExit) as stop:
        main(["fit", "--config", str(SENTIMENT / "sst2_bilstm.yaml"), "--model.init_args.pretrained.vector", "x.txt"])
    assert stop.value.code == 2
    assert capsys.readouterr().err.strip() == \
        "seqlit: error: unknown key 'model.init_args.pretrained.vector'; did you mean 'vectors'? " \
        "(from option --model.init_args.pretrained.vector)"
