"""Show what a language model has learned: sampled text after each validation and at the end of fit.

Printed for the person at the terminal, and logged to W&B as a table, one row per epoch.
"""

from __future__ import annotations

import pytorch_lightning as pl
from pytorch_lightning.loggers import WandbLogger
from pytorch_lightning.utilities import rank_zero_only
from rich.console import Console
from rich.panel import Panel

from seqlit.errors import SeqlitError
from seqlit.generation import sample


class SampleText(pl.Callback):
    """Args:
        prompt: text to continue ('' starts from a line break).
        max_tokens: tokens to sample.
        temperature / top_k: sampling settings (temperature 0 is greedy).
        every_n_epochs: sample after every n-th validation (0: never); always once more at the end of fit.
        seed: sampling seed, so successive epochs are comparable.
        condition: the condition a conditional language model writes under: `positive`, `ROMEO` (one field) or
            `label=positive,topic=news` (a value per field; `data_modules.conditions`).
    """

    def __init__(self, prompt: str = "", max_tokens: int = 300, temperature: float = 0.8, top_k: int | None = None,
                 every_n_epochs: int = 1, seed: int = 0, condition: str | None = None):
        self.prompt, self.max_tokens, self.temperature, self.top_k = prompt, max_tokens, temperature, top_k
        self.every_n_epochs, self.seed, self.condition = every_n_epochs, seed, condition
        self.rows: list[list] = []

    def text(self, trainer: pl.Trainer, pl_module) -> str:
        dm = trainer.datamodule
        prompt_ids = encode_prompt(dm, self.prompt)
        model, stop = with_condition(pl_module, dm, self.condition), None
        if model is not pl_module:  # a conditional sequence ends at its <eos>
            stop = dm.vocab.encode([dm.stop_token])[0]
        was_training = pl_module.training
        pl_module.eval()
        ids = sample(model, prompt_ids, self.max_tokens, self.temperature, self.top_k, stop_id=stop, seed=self.seed)
        pl_module.train(was_training)
        return continuation(dm, self.prompt, ids)

    @rank_zero_only
    def _show(self, trainer, pl_module, title: str) -> None:
        text = self.text(trainer, pl_module)
        Console().print(Panel(text, title=title, expand=False))
        self.rows.append([trainer.current_epoch, trainer.global_step, text])
        for logger in trainer.loggers:
            if isinstance(logger, WandbLogger):
                logger.log_text(key="samples", columns=["epoch", "step", "text"], data=self.rows)

    def on_fit_start(self, trainer, pl_module):
        """A condition the model cannot take (a name the data lacks, one for a plain LM) ends the run before
        training, not at its first sample."""
        with_condition(pl_module, trainer.datamodule, self.condition)

    def on_validation_epoch_end(self, trainer, pl_module):
        if trainer.sanity_checking or self.every_n_epochs <= 0 or trainer.state.fn != "fit":
            return
        if (trainer.current_epoch + 1) % self.every_n_epochs == 0:
            self._show(trainer, pl_module, f"sample after epoch {trainer.current_epoch} (step {trainer.global_step})")

    def on_fit_end(self, trainer, pl_module):
        if self.rows and self.rows[-1][1] == trainer.global_step:
            return  # the last epoch was a sample epoch: the same model, the same seed, the same box again
        self._show(trainer, pl_module, f"sample at the end of training (step {trainer.global_step})")


def encode_prompt(dm, prompt: str) -> list[int]:
    """Prompt text -> ids, after the data module's `start_token` (a line break, `<bos>`), so an empty prompt
    starts a fresh sequence."""
    tokens = dm.tokenize(prompt)[:-1] if prompt else []
    return dm.vocab.encode([dm.start_token]) + dm.vocab.encode(tokens)


def continuation(dm, prompt: str, ids: list[int]) -> str:
    """The prompt and the sampled ids as text (a space between them for words)."""
    text = dm.detokenize(dm.vocab.decode(ids))
    return prompt + (" " if prompt and dm.level == "word" and text and not text.startswith("\n") else "") + text


def with_condition(model, dm, condition: str | None):
    """What to sample from: `model`, or a conditional model with the condition `condition` names fixed.

    A missing or unknown condition is one line listing those the checkpoint knows; a model trained with
    `condition: none` accepts one and ignores it, so the same command measures the baseline.
    """
    if not hasattr(model, "conditioned"):
        if condition is not None:
            raise SeqlitError(f"--condition {condition!r}: this checkpoint is a {type(model).__name__}, which reads "
                              "no condition: drop --condition, or pass a ConditionalLanguageModel checkpoint")
        return model
    return model.conditioned(dm.condition_ids(condition))
