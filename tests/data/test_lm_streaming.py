"""`streaming: true`: the language model's windows read from a `datasets` stream, block by block.

Each block's rows, laid side by side, are the next stretch of the map-style id sequence; targets are the
inputs shifted by one; the vocabulary equals the map-style one (or counts only `vocab_max_lines` lines);
a loader restored from `state_dict` serves the very windows that followed; bad combinations are one line.
"""

from __future__ import annotations

import datasets
import numpy as np
import pytest
import torch

import data_modules.lm_streaming as lm_streaming
from data_modules import LanguageModelingData
from seqlit.errors import SeqlitError


@pytest.fixture
def corpus(tmp_path, monkeypatch):
    monkeypatch.setattr(datasets.config, "HF_DATASETS_CACHE", str(tmp_path / "hf-cache"))
    monkeypatch.setattr(lm_streaming, "WINDOWS_PER_BLOCK", 3)
    folder = tmp_path / "corpus"
    folder.mkdir()
    for split, n in (("train", 200), ("valid", 30), ("test", 30)):
        (folder / f"{split}.txt").write_text("".join(f"w{i % 13} x{i % 7} the end {i % 5}\n" for i in range(n)), encoding="utf-8")
    return folder


def data(corpus, **kwargs) -> LanguageModelingData:
    dm = LanguageModelingData(path=str(corpus), batch_size=4, eval_batch_size=2, bptt=5, **kwargs)
    dm.ensure_vocab()
    return dm


def test_blocks_continue_the_map_style_sequence(corpus):
    ids = np.asarray(data(corpus).encoded("train"))
    windows = list(data(corpus, streaming=True).loader("train"))
    for w in windows:
        assert torch.equal(w["targets"][:, :-1], w["input_ids"][:, 1:])
    blocks = [torch.cat([w["input_ids"] for w in windows[b : b + 3]], 1) for b in range(0, len(windows) - 3, 3)]
    served = torch.cat([b.reshape(-1) for b in blocks]).numpy()
    assert len(blocks) >= 2 and np.array_equal(served, ids[: served.size])
    total = sum(w["input_ids"].numel() for w in windows)
    assert 1 <= ids.size - total <= 4  # every id is an input once, but the last and what does not fill a column of 4


def test_vocabulary_is_the_map_style_one_or_the_first_lines(corpus):
    assert data(corpus, streaming=True).vocab.tokens == data(corpus).vocab.tokens
    few = data(corpus, streaming=True, vocab_max_lines=3)
    assert sorted(few.vocab.tokens[3:]) == sorted({"w0", "w1", "w2", "x0", "x1", "x2", "the", "end", "0", "1", "2"})


def test_a_restored_loader_serves_the_windows_that_followed(corpus):
    loader = data(corpus, streaming=True).loader("train")
    it = iter(loader)
    for _ in range(5):  # four trained on, and the fifth fetched ahead, as Lightning's fetcher does
        next(it)
    state = loader.state_dict()
    assert state["batches"] == 4
    following = [loader_window["input_ids"] for loader_window in list(iter(data(corpus, streaming=True).loader("train")))[4:7]]
    resumed = data(corpus, streaming=True).loader("train")
    resumed.load_state_dict(state)
    again = iter(resumed)
    assert all(torch.equal(next(again)["input_ids"], w) for w in following)
    rest = list(again)
    assert resumed.state_dict()["batches"] == 0 and rest, "an epoch run to its end resumes at the next one's start"


@pytest.mark.parametrize("option, value", [("split_by", "nanogpt"), ("direction", "backward"), ("random_bptt", True)])
def test_options_a_stream_cannot_serve_are_one_line(corpus, option, value):
    with pytest.raises(SeqlitError, match=rf"data.streaming reads each split once, front to back.*cannot serve data.{option}"):
        LanguageModelingData(path=str(corpus), level="char", streaming=True, **{option: value})


def test_a_stream_needs_the_sources_own_splits(corpus):
    with pytest.raises(SeqlitError, match=r"data.streaming needs '.*train.txt' to ship its own validation, test split"):
        data(corpus / "train.txt", streaming=True)


def test_a_hub_stream_while_offline_is_one_line(monkeypatch):
    monkeypatch.setenv("HF_DATASETS_OFFLINE", "1")
    monkeypatch.setattr(datasets.config, "HF_HUB_OFFLINE", True)
    with pytest.raises(SeqlitError, match=r"'nobody/no-such-dataset' is no local file or folder .* no hub dataset could be "
                                          r"streamed: the hub is offline"):
        LanguageModelingData(path="nobody/no-such-dataset", streaming=True).data_spec
