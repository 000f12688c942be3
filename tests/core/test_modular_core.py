"""The modular core end to end: any backbone into any task by config alone, and `backend: scratch` runs the
course's equations everywhere (no fused torch RNN module runs), the encoder–decoder's decoder included."""

from __future__ import annotations

import json
import re
import sys

import pytest
import torch
from torch import nn

from seqlit.cli.main import main
from tests.conftest import REPO

DATA = REPO / "tests" / "fixtures" / "legacy" / "data"
ONE_STEP = ["--trainer.max_steps", "1", "--trainer.max_epochs", "1", "--trainer.max_time", "null",
            "--trainer.limit_val_batches", "1", "--trainer.val_check_interval", "1", "--trainer.logger", "false", "--trainer.enable_progress_bar", "false",
            "--trainer.enable_model_summary", "false", "--test_after_fit", "false", "--trainer.callbacks", "[]"]
# every task: its config, and what shrinks it to a one-step run on the fixtures' tiny data
TASKS = {
    "tagger": ["--config", "configs/tagging/conll2003_bilstm_crf.yaml", "--data.init_args.path", str(DATA / "ner"),
               "--model.init_args.embedding_dim", "8", "--model.init_args.char_features", "6"],
    "classifier": ["--config", "configs/sentiment/sst2_bilstm.yaml", "--data.init_args.path", str(DATA / "sst"),
                   "--model.init_args.embedding_dim", "8"],
    "language_model": ["--config", "configs/quickstart.yaml", "--data.init_args.path", str(DATA / "lm.txt"),
                       "--model.init_args.embedding_dim", "8", "--data.init_args.bptt", "8"],
    "conditional_lm": ["--config", "configs/conditional/sst2_label_lstm.yaml", "--data.init_args.path", str(DATA / "sst"),
                       "--data.init_args.val_fraction", "0.2", "--model.init_args.embedding_dim", "8"],
    "seq2seq": ["--config", "configs/translation/dates_gru_attn.yaml", "--data.init_args.train_size", "32",
                "--data.init_args.val_size", "8", "--data.init_args.test_size", "8",
                "--model.init_args.embedding_dim", "8", "--model.init_args.attention_size", "8"],
}
SMALL = ["--model.init_args.backbone.hidden_size", "8"]
SMALL_DECODER = ["--model.init_args.decoder.hidden_size", "8"]


@pytest.fixture
def in_tmp(tmp_path, monkeypatch):
    monkeypatch.chdir(REPO)  # the configs' relative paths; everything is written under default_root_dir
    monkeypatch.setattr(sys, "argv", ["seqlit"])
    return tmp_path


def fit(tmp_path, *args: str) -> None:
    main(["fit", *args, *ONE_STEP, "--trainer.default_root_dir", str(tmp_path),
          "--trainer.callbacks+=tests.core.test_modular_core.StepCounter"])
    assert json.loads((tmp_path / "steps.json").read_text()) == {"train": 1, "val": 1}


class StepCounter(__import__("pytorch_lightning").Callback):
    """Records that one training and one validation batch ran, in <default_root_dir>/steps.json."""

    def __init__(self):
        self.steps = {"train": 0, "val": 0}

    def on_train_batch_end(self, trainer, *args):
        self.steps["train"] += 1

    def on_validation_batch_end(self, trainer, *args):
        self.steps["val"] += 0 if trainer.sanity_checking else 1

    def on_fit_end(self, trainer, pl_module):
        (__import__("pathlib").Path(trainer.default_root_dir) / "steps.json").write_text(json.dumps(self.steps))


@pytest.mark.parametrize("task", sorted(TASKS))
def test_a_backbone_from_outside_seqlit_plugs_into_every_task_by_config(in_tmp, monkeypatch, task):
    from tests.core.plugin_backbone import LeakyAverage

    ran, forward = [], LeakyAverage.forward
    monkeypatch.setattr(LeakyAverage, "forward", lambda self, *a, **kw: ran.append(1) or forward(self, *a, **kw))
    plugin = json.dumps({"class_path": "tests.core.plugin_backbone.LeakyAverage", "init_args": {"hidden_size": 8}})
    extra = ["--model.init_args.decoder", plugin] if task == "seq2seq" else []
    fit(in_tmp, *TASKS[task], "--model.init_args.backbone", plugin, *extra)
    assert ran  # the plugged backbone ran, not a default one in its place


@pytest.fixture
def no_fused_rnn(monkeypatch):
    """Any torch RNN module or cell that runs fails the test."""
    def refuse(self, *args, **kwargs):
        raise AssertionError(f"torch's fused {type(self).__name__} ran under backend: scratch")

    for module in (nn.RNN, nn.GRU, nn.LSTM, nn.RNNCell, nn.GRUCell, nn.LSTMCell):
        monkeypatch.setattr(module, "forward", refuse)


@pytest.mark.parametrize("task, extra", [
    ("tagger", ["--model.init_args.char_encoder", "rnn"]),  # the character BiLSTM follows the backbone's backend
    ("classifier", []),
    ("language_model", []),
    ("conditional_lm", []),
    ("seq2seq", ["--model.init_args.decoder.backend", "scratch", *SMALL_DECODER]),
    ("seq2seq", ["--model.init_args.decoder.backend", "scratch", "--model.init_args.decoder.kind", "rnn",
                 "--model.init_args.backbone.kind", "lstm", "--model.init_args.decoder.num_layers", "2",
                 *SMALL_DECODER]),
], ids=["tagger", "classifier", "language_model", "conditional_lm", "seq2seq", "seq2seq-rnn-decoder"])
def test_scratch_backend_runs_no_fused_module_in_any_task(in_tmp, no_fused_rnn, task, extra):
    fit(in_tmp, *TASKS[task], *SMALL, "--model.init_args.backbone.backend", "scratch", *extra)


def test_the_fused_guard_would_catch_a_fused_run(in_tmp, no_fused_rnn):
    with pytest.raises(AssertionError, match="fused LSTM ran"):
        fit(in_tmp, *TASKS["classifier"], *SMALL)
    assert torch.nn.LSTM.forward.__name__ == "refuse"


def test_the_contract_checks_a_plugged_backbones_inputs_as_it_checks_recurrents():
    """`Backbone.check_inputs` holds the forward contract's shapes once: a backbone from outside seqlit that
    calls it refuses a wrong input, lengths or state with the same one-line messages as `Recurrent`."""
    from tests.core.plugin_backbone import LeakyAverage

    net, x = LeakyAverage(input_size=3, hidden_size=4), torch.randn(2, 5, 3)
    assert net(x, torch.tensor([5, 2]))[0].shape == (2, 5, 4)
    for call, message in [
        (lambda: net(torch.randn(2, 5)), "LeakyAverage: x must be a (B, T, 3) tensor"),
        (lambda: net(x, torch.tensor([6, 1])), "LeakyAverage: lengths must lie in [1, T=5]"),
        (lambda: net(x, state=torch.zeros(1, 3, 4)), "LeakyAverage: state must be a (1, 2, 4) tensor"),
    ]:
        with pytest.raises(ValueError, match=re.escape(message)):
            call()


class TrainingLayers(__import__("pytorch_lightning").Callback):
    """Records, at each epoch's first batch, which of the backbone's layer groups train, in <root>/layers.json."""

    def __init__(self):
        self.epochs = []

    def on_train_batch_start(self, trainer, pl_module, batch, batch_idx):
        groups = pl_module.main_backbone().layer_groups()
        self.epochs.append([all(p.requires_grad for p in group) for group in groups])

    def on_fit_end(self, trainer, pl_module):
        (__import__("pathlib").Path(trainer.default_root_dir) / "layers.json").write_text(json.dumps(self.epochs))


def test_a_plugged_backbone_gets_gradual_unfreezing_and_gradient_flow(in_tmp):
    """The contract's `layer_groups` and `new_probe`: a backbone from outside seqlit is unfrozen layer by layer
    from the top, and the gradient-flow callback draws ∂L/∂a<t> of its top layer at every step."""
    plugin = json.dumps({"class_path": "tests.core.plugin_backbone.LeakyAverage",
                         "init_args": {"hidden_size": 8, "num_layers": 2}})
    main(["fit", *TASKS["classifier"], "--model.init_args.backbone", plugin,
          "--model.init_args.pretrained", '{"gradual_unfreezing": true}', *ONE_STEP,
          "--trainer.max_steps", "2", "--trainer.max_epochs", "2", "--trainer.limit_train_batches", "1",
          "--trainer.default_root_dir", str(in_tmp), "--trainer.callbacks+=tests.core.test_modular_core.TrainingLayers",
          "--trainer.callbacks+=seqlit.callbacks.gradient_flow.GradientFlow", "--trainer.callbacks.every_n_steps", "1"])
    # groups: embedding, layer 0, layer 1, the rest; epoch 0 trains the rest only, epoch 1 the top layer too
    assert json.loads((in_tmp / "layers.json").read_text()) == [[False, False], [False, True]]
    curves = [torch.load(p) for p in sorted(in_tmp.rglob("gradient_flow/step_*.pt"))]
    assert [c["step"] for c in curves] == [0, 1]
    for curve in curves:
        assert curve["norms"].dim() == 1 and curve["norms"].numel() > 1
        assert (curve["norms"] > 0).all(), "every step of the plugged backbone receives gradient through time"


def test_a_backbone_that_makes_no_probe_is_refused_by_the_gradient_flow_callback():
    from types import SimpleNamespace

    from seqlit.callbacks.gradient_flow import GradientFlow
    from seqlit.errors import SeqlitError
    from tests.core.plugin_backbone import LeakyAverage

    flow, net = GradientFlow(every_n_steps=1), LeakyAverage(3, 4)
    flow.setup(None, nn.Sequential(net), "fit")
    flow.on_train_batch_start(SimpleNamespace(global_step=0), None, {}, 0)
    with torch.no_grad():  # no gradients: no probe is made
        net(torch.randn(2, 5, 3))
    with pytest.raises(SeqlitError, match="GradientFlow: the backbone LeakyAverage made no probe"):
        flow.on_after_backward(SimpleNamespace(global_step=0), None)
