"""Show what a language model has learned: sampled text after each validation and at the end of fit.

Samples are printed (so the person at the terminal sees them) and logged to
W&B as a table, one row per epoch, so a run's history reads like a story.
"""

from __future__ import annotations

import pytorch_lightning as pl
from pytorch_lightning.loggers import WandbLogger
from pytorch_lightning.utilities import rank_zero_only
from rich.console import Console
from rich.panel import Panel

from seqlit.generation import sample


class SampleText(pl.Callback):
    """Args:
        prompt: text to continue ('' starts from a line break).
        max_tokens: tokens to sample.
        temperature / top_k: sampling settings (temperature 0 is greedy).
        every_n_epochs: sample after every n-th validation (0: never); always once more at the end of fit.
        seed: sampling seed, so successive epochs are comparable.
    """

    def __init__(self, prompt: str = "", max_tokens: int = 300, temperature: float = 0.8, top_k: int | None = None,
                 every_n_epochs: int = 1, seed: int = 0):
        self.prompt, self.max_tokens, self.temperature, self.top_k = prompt, max_tokens, temperature, top_k
        self.every_n_epochs, self.seed = every_n_epochs, seed
        self.rows: list[list] = []

    def text(self, trainer: pl.Trainer, pl_module) -> str:
        dm = trainer.datamodule
        prompt_ids = encode_prompt(dm, self.prompt)
        was_training = pl_module.training
        pl_module.eval()
        ids = sample(pl_module, prompt_ids, self.max_tokens, self.temperature, self.top_k, seed=self.seed)
        pl_module.train(was_training)
        return self.prompt + dm.detokenize(dm.vocab.decode(ids))

    @rank_zero_only
    def _show(self, trainer, pl_module, title: str) -> None:
        text = self.text(trainer, pl_module)
        Console().print(Panel(text, title=title, expand=False))
        self.rows.append([trainer.current_epoch, trainer.global_step, text])
        for logger in trainer.loggers:
            if isinstance(logger, WandbLogger):
                logger.log_text(key="samples", columns=["epoch", "step", "text"], data=self.rows)

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
    """Prompt text -> ids, preceded by a line break so an empty prompt starts a fresh line."""
    tokens = dm.tokenize(prompt)[:-1] if prompt else []
    start = dm.vocab.encode(["\n"] if dm.level == "char" else ["<eos>"])
    return start + dm.vocab.encode(tokens)
