"""A precision the hardware cannot run is one line before the first step (seqlit/run/precision.py).

This machine's CPU may well have bf16 kernels; the oneDNN failure of an AVX2-only CPU is reproduced by making
torch's LSTM raise oneDNN's message, which the probe must meet before training writes anything.
"""

from __future__ import annotations

import pytest
import torch
from torch import nn

from seqlit.run.precision import check_precision, probe
from tests.conftest import REPO
from tests.test_bad_input import QUIET, SHORT, lm_text, nothing_written, one_line_error, seqlit

ONEDNN = "could not create a primitive descriptor for the LSTM forward propagation primitive"


def no_bf16_lstm(monkeypatch):
    forward = nn.LSTM.forward

    def refuse(self, input, hx=None):
        if input.dtype == torch.bfloat16 or torch.is_autocast_enabled("cpu"):
            raise RuntimeError(ONEDNN)
        return forward(self, input, hx)

    monkeypatch.setattr(nn.LSTM, "forward", refuse)


def test_bf16_on_a_cpu_without_bf16_lstm_kernels_is_one_line(tmp_path, monkeypatch):
    no_bf16_lstm(monkeypatch)
    corpus = lm_text(tmp_path / "corpus.txt")
    cwd = tmp_path / "cwd"
    cwd.mkdir()
    run = seqlit("fit", "--config", str(REPO / "configs" / "quickstart.yaml"), "--data.init_args.path", str(corpus),
                 "--model.init_args.backbone.kind", "lstm", "--model.init_args.backbone.hidden_size", "8",
                 "--trainer.precision", "bf16-mixed", *SHORT, *QUIET, cwd=cwd)
    one_line_error(run, "trainer.precision bf16-mixed cannot run on this device (cpu: ", "its LSTM kernels fail",
                   ONEDNN, "use --trainer.precision 32-true")
    nothing_written(cwd)


def test_the_probe_only_refuses_what_fails(monkeypatch):
    no_bf16_lstm(monkeypatch)
    gru, lstm = nn.GRU(3, 5), nn.LSTM(3, 5)
    assert probe(gru, "bf16-mixed", torch.device("cpu")) is None
    assert ONEDNN in probe(lstm, "bf16-mixed", torch.device("cpu"))
    check_precision("bf16-mixed", nn.Sequential(gru), torch.device("cpu"))  # a GRU model trains: nothing said
    check_precision("32-true", nn.Sequential(lstm), torch.device("cpu"))  # fp32 is never probed
    with pytest.raises(Exception, match="bf16-true cannot run"):
        check_precision("bf16-true", nn.Sequential(lstm), torch.device("cpu"))
