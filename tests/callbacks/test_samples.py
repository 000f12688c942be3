"""SampleText shows one box per model state: the end-of-fit sample is left out when the last validation just showed it."""

from __future__ import annotations

from types import SimpleNamespace

from seqlit.callbacks.samples import SampleText


def fake_trainer(epoch: int, step: int):
    return SimpleNamespace(current_epoch=epoch, global_step=step, sanity_checking=False,
                           state=SimpleNamespace(fn="fit"), loggers=[])


def shown(monkeypatch, last_epoch_samples: bool) -> list[int]:
    callback = SampleText(every_n_epochs=2)
    monkeypatch.setattr(callback, "text", lambda trainer, module: f"text at step {trainer.global_step}")
    epochs = 2 if last_epoch_samples else 3
    for epoch in range(epochs):
        callback.on_validation_epoch_end(fake_trainer(epoch, 10 * (epoch + 1)), None)
    callback.on_fit_end(fake_trainer(epochs - 1, 10 * epochs), None)
    return [step for _, step, _ in callback.rows]


def test_end_of_fit_sample_not_repeated_after_a_sample_epoch(monkeypatch):
    assert shown(monkeypatch, last_epoch_samples=True) == [20]


def test_end_of_fit_sample_shown_after_other_epochs(monkeypatch):
    assert shown(monkeypatch, last_epoch_samples=False) == [20, 30]
