"""What every task module shares: the data spec, the backbone, evaluation, the optimizer and schedule.

`data_spec` is linked from the data module and stored in the hyper-parameters, so sizes are never typed twice
and a checkpoint alone rebuilds the model. The backbone comes in as a factory the task calls with its input
width. Transfer (`pretrained:`) is applied here for every task, through the targets a task names
(`transfer_targets`, `word_vocab`). Evaluation has one shape: a task's `evaluate` returns its mean loss and
what it is over; `SeqTask` weights, sums and logs per stage, with torchmetrics states summed across DDP ranks,
never `self.log(..., sync_dist=True)` means (Lightning #21859). See docs/architecture.md, docs/python_api.md.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from typing import Any, Literal

import pytorch_lightning as pl
import torch
from lightning_fabric.utilities.apply_func import move_data_to_device
from pytorch_lightning.callbacks import Timer
from pytorch_lightning.plugins.precision import MixedPrecision
from pytorch_lightning.strategies import DDPStrategy
from pytorch_lightning.utilities import rank_zero_info
from torch import nn
from torch.utils.data import DataLoader
from torchmetrics import MeanMetric, Metric

from seqlit.run import resume
from seqlit.callbacks.throughput import batch_tokens
from seqlit.errors import SeqlitError
from seqlit.nn.backbone import Backbone, BackboneFactory, State, build
from seqlit.transfer import fine_tune, pretrained as transfer
from seqlit.transfer.pretrained import Pretrained

STAGES = ("val", "test")


class Bridge(nn.Linear):
    """One vector per sequence -> `backbone`'s first state: every layer's a<0> (and c<0> for an LSTM), through tanh."""

    def __init__(self, in_features: int, backbone: Backbone):
        shape = (backbone.state_parts, backbone.num_layers, backbone.hidden_size)
        super().__init__(in_features, math.prod(shape))
        self.state_shape = shape

    def forward(self, x: torch.Tensor) -> State:
        parts = torch.tanh(super().forward(x)).view(-1, *self.state_shape).permute(1, 2, 0, 3)
        return tuple(p.contiguous() for p in parts) if self.state_shape[0] > 1 else parts[0].contiguous()


class SeqTask(pl.LightningModule):
    """Base class. Subclasses set `monitor` / `monitor_mode` (the headline metric the best checkpoint is chosen by)
    and implement `evaluate` and `metrics`."""

    monitor: str = "val/loss"
    monitor_mode: str = "min"
    required_spec: tuple[str, ...] = ()
    task_name: str = "task"  # what records and leaderboards call the task
    headline: str = "test/loss"  # the test metric the leaderboard shows first and ranks by
    # +1 higher is better, -1 lower, per metric family (`f1` covers `f1_PER`): the regression check and leaderboard
    directions: dict[str, int] = {"loss": -1}
    word_embedding_path: str = "embedding"  # the module `pretrained:` loads word vectors into (see `transfer_targets`)
    word_vocab: str = "vocab"  # the data module's vocabulary whose ids that embedding reads

    def head(self) -> str | None:
        """The output side, where it names the model in records (`crf`, `attn`); None when plain."""
        return None

    def __init__(self, data_spec: dict[str, Any] | None, lr: float, weight_decay: float,
                 lr_schedule: Literal["constant", "cosine"] = "constant", pretrained: Pretrained | None = None):
        super().__init__()
        if data_spec is None:
            raise SeqlitError(
                f"{type(self).__name__} needs data_spec (vocabulary size, labels …): "
                "run it through `python -m seqlit` with a data module, which links it"
            )
        missing = [k for k in self.required_spec if k not in data_spec]
        if missing:
            raise SeqlitError(f"{type(self).__name__}: data_spec lacks {', '.join(missing)}: is the data module for this task?")
        if lr <= 0:
            raise SeqlitError(f"model.lr must be positive, got {lr}")
        self.spec = data_spec
        self.lr, self.weight_decay, self.lr_schedule = lr, weight_decay, lr_schedule
        self.pretrained = transfer.check(pretrained)
        self.char_lms: nn.Module | None = None  # contextual string features (`pretrained.char_lms`), in tasks that take them
        self._frozen: set[int] = set()
        self._resume: dict[str, torch.Tensor] | None = None
        self._checkpoint_data = None  # the data module `load_from_checkpoint` read from the checkpoint

    # -- components ---------------------------------------------------------------
    def build_backbone(self, factory: BackboneFactory | dict, input_size: int, key: str = "backbone",
                       forward_only: str | None = None) -> Backbone:
        """The backbone for this task's input width; a bad setting is one line naming `model.init_args.<key>`.

        `forward_only`: why this backbone must read left to right; a bidirectional one is then refused with it."""
        try:
            backbone = build(factory, input_size)
        except (ValueError, TypeError) as err:
            raise SeqlitError(f"model.init_args.{key}: {err}") from err
        if forward_only and backbone.num_directions != 1:
            raise SeqlitError(f"model.init_args.{key}.bidirectional must be false: {forward_only}")
        return backbone

    def transfer_targets(self) -> list[tuple[nn.Module, Backbone]]:
        """The (word embedding, backbone) pairs pretrained weights go into (`seqlit.transfer`).

        By default `word_embedding_path` and `main_backbone()`; a task with several (an ensemble) lists them all."""
        return [(self.get_submodule(self.word_embedding_path), self.main_backbone())]

    # -- transfer (seqlit.transfer) --------------------------------------------------
    def setup(self, stage: str) -> None:
        """Freeze what `pretrained:` keeps fixed, before the optimizer and DDP see the parameters (also on resume)."""
        if stage != "fit":
            return
        self._frozen = transfer.freeze(self)
        # DDP registers the parameters that need gradients when it wraps the model: unfreezing later breaks it
        if self.pretrained["gradual_unfreezing"] and isinstance(self.trainer.strategy, DDPStrategy):
            raise SeqlitError("model.pretrained.gradual_unfreezing runs on one process only (DDP syncs the gradients "
                              "of the parameters that train at the start): set it to false, or train without a DDP strategy")

    def on_fit_start(self) -> None:
        """Load the pretrained vectors or LM when the fit starts from scratch; a resumed fit has them in its checkpoint.

        Here rather than in `setup`: the trainer knows whether it resumes (`ckpt_path`) only after `setup`."""
        if self.trainer.ckpt_path is None:
            transfer.initialise(self, self.trainer.datamodule)

    def on_train_epoch_start(self) -> None:
        """Gradual unfreezing: the top `epoch + 1` layer groups train in this epoch."""
        if self.pretrained["gradual_unfreezing"]:
            trained = fine_tune.unfreeze(self, self.current_epoch, self._frozen)
            rank_zero_info(f"[seqlit] epoch {self.current_epoch}: the top {trained} of "
                           f"{len(fine_tune.layer_groups(self))} layer groups train")

    # -- evaluation ---------------------------------------------------------------
    def metrics(self) -> dict[str, Metric]:
        """A fresh set of this task's metrics (one per stage is kept); their `compute()` gives a number or a dict."""
        return {}

    def evaluate(self, batch: dict, stage: str, metrics: nn.ModuleDict) -> tuple[torch.Tensor, int | torch.Tensor]:
        """Update `metrics` (the stage's copy) with one batch; return its mean loss and the count it averages over."""
        raise NotImplementedError

    def epoch_metrics(self, stage: str, loss: float) -> dict[str, float]:
        """Numbers derived from the stage's mean loss (perplexity, bits per character); none by default."""
        return {}

    def track_metrics(self) -> None:
        """Per-stage metric copies and loss means; subclasses call it once their own settings are known."""
        self.eval_metrics = nn.ModuleDict({stage: nn.ModuleDict(self.metrics()) for stage in STAGES})
        self.eval_loss = nn.ModuleDict({stage: MeanMetric().set_dtype(torch.float64) for stage in STAGES})

    def _evaluate(self, batch: dict, stage: str) -> None:
        loss, count = self.evaluate(batch, stage, self.eval_metrics[stage])
        self.eval_loss[stage].update(loss.detach().double(), weight=count)

    def validation_step(self, batch, batch_idx):
        self._evaluate(batch, "val")

    def test_step(self, batch, batch_idx):
        self._evaluate(batch, "test")

    def log_stage(self, stage: str) -> dict[str, float]:
        """Compute, log and reset the stage's loss and metrics; returns what was logged."""
        loss = float(self.eval_loss[stage].compute())
        values = {"loss": loss, **self.epoch_metrics(stage, loss)}
        for name, metric in self.eval_metrics[stage].items():
            value = metric.compute()
            values.update({k: float(v) for k, v in value.items()} if isinstance(value, dict) else {name: float(value)})
        headline = self.monitor.split("/", 1)[-1]
        for name, value in values.items():
            # already synced by the metrics; sync_dist only tells Lightning so (a no-op mean)
            self.log(f"{stage}/{name}", value, prog_bar=stage == "val" and name == headline, sync_dist=True)
        self.eval_loss[stage].reset()
        for metric in self.eval_metrics[stage].values():
            metric.reset()
        return values

    def on_validation_epoch_end(self):
        self.log_stage("val")

    def on_test_epoch_end(self):
        self.log_stage("test")

    def table_rows(self, batch: dict) -> list[dict[str, str]]:
        """A test batch as rows of the W&B predictions table (seqlit/callbacks/test_table.py): the input, the gold
        answer and the model's, as strings. None by default: a language model's test split is one stream."""
        return []

    def main_backbone(self) -> Backbone:
        """The backbone that names the model (the encoder of an encoder–decoder)."""
        return self.backbone

    def describe(self) -> dict[str, Any]:
        """What records and leaderboards call this model: the task, its backbone, its size, how it is scored."""
        backbone = self.main_backbone()
        return {"task": self.task_name, "class": type(self).__name__, "backbone": backbone.describe(),
                "head": self.head(), "params": sum(p.numel() for p in self.parameters()),
                "label": backbone.label(self.head()),
                "scoring": {"headline": self.headline, "directions": dict(self.directions)}}

    def batch_tokens(self, batch: dict) -> int:
        """What a token is for training throughput (seqlit/callbacks/throughput.py): real, unpadded ones."""
        return batch_tokens(batch)

    def render(self, record: dict) -> str:
        """One `predict` record for a person (seqlit/callbacks/predictions.py); JSON unless the task says better."""
        return json.dumps(record, ensure_ascii=False)

    # -- inference in Python --------------------------------------------------------
    def data_module(self):
        """The data module whose vocabulary and tokenizer this model reads: its trainer's, else its checkpoint's."""
        dm = self.trainer.datamodule if self._trainer is not None else None
        dm = self._checkpoint_data if dm is None else dm
        if dm is None:
            raise SeqlitError(f"{type(self).__name__} has no data module to encode text with: load the model with "
                              f"{type(self).__name__}.load_from_checkpoint(PATH), which reads the checkpoint's vocabulary")
        return dm

    @torch.no_grad()
    def predict_text(self, texts: Sequence[str | dict], batch_size: int | None = None) -> list[dict]:
        """Predict on raw strings with the checkpoint's own vocabulary and tokenizer: one record per text, in order.

        The records are those `predict` writes for the lines of a predict file (entities with character offsets,
        a label with class probabilities, a translation; a language model scores each text), built by the same
        data-module encoding and `predict_step`. A blank text gets `{"index": i, "skipped": "blank line"}`;
        a dict is read as a JSON line of a `.jsonl` predict file would be (e.g. `{"tokens": [...]}` for tagging).
        """
        from seqlit.callbacks.predictions import with_blank_lines

        if isinstance(texts, (str, dict)):
            raise SeqlitError("predict_text takes a list of texts: wrap a single text in a list")
        lines = []
        for i, text in enumerate(texts):
            if not isinstance(text, (str, dict)):
                raise SeqlitError(f"predict_text: item {i} is a {type(text).__name__}, not a string (or a JSON-line dict)")
            if not isinstance(text, str) or text.strip():
                lines.append((i, text))
        if not lines:
            return with_blank_lines([], len(texts))[0]
        dm, was_training = self.data_module(), self.training
        self.eval()
        try:
            records = [record for n, batch in enumerate(self.predict_batches(dm, lines, batch_size or dm.eval_batch_size))
                       for record in self.predict_step(move_data_to_device(batch, self.device), n)]
        finally:
            self.train(was_training)
        return with_blank_lines(sorted(records, key=lambda r: r["index"]), len(texts))[0]

    def predict_batches(self, dm, lines: list[tuple[int, str | dict]], batch_size: int):
        """Batches of numbered `lines` as `predict` serves a predict file's: the data module's own
        `encode_lines` and `collate`."""
        return DataLoader(dm.encode_lines(lines), batch_size=batch_size, collate_fn=dm.collate)

    # -- resume ------------------------------------------------------------------
    def resume_state(self) -> dict[str, torch.Tensor]:
        """This process's tensors that weights, optimizer and loops do not hold: the random generators.

        Subclasses add state they carry from batch to batch (and restore it in `load_resume_state`).
        """
        return resume.rng_state(self.device)

    def load_resume_state(self, state: dict[str, torch.Tensor]) -> None:
        resume.set_rng_state(state, self.device)

    def on_save_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        checkpoint[resume.KEY] = resume.gather(self, self.resume_state())

    @classmethod
    def load_from_checkpoint(cls, checkpoint_path, map_location=None, strict: bool = True, weights_only: bool = True,
                             **kwargs):
        """The task a checkpoint holds, for inference in plain Python, through `seqlit.io.checkpoints.model_from_checkpoint`.

        `weights_only=True`, seqlit's classes only, older layouts upgraded, another task's checkpoint refused in one
        line. `kwargs` override stored init arguments; the checkpoint's data module is kept, for `predict_text`.
        """
        from seqlit.io.checkpoints import model_from_checkpoint

        if not weights_only:
            raise SeqlitError("seqlit loads checkpoints with weights_only=True only: loading any other way can run code")
        model = model_from_checkpoint(checkpoint_path, cls, strict=strict, **kwargs)
        return model if map_location is None else model.to(map_location)

    @classmethod
    def from_pretrained(cls, path):
        """The task a model folder (`python -m seqlit export`) or hub id holds, rebuilt without unpickling
        anything: `seqlit.deploy.load`, refusing a folder of another task."""
        from seqlit.deploy import load

        return load(path, expected=cls)

    def on_load_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        from seqlit.io.checkpoints import upgrade_unnamed

        upgrade_unnamed(checkpoint, type(self).__name__)  # before Lightning loads its weights
        self._resume = resume.this_rank(self, checkpoint.get(resume.KEY))

    def on_train_start(self) -> None:
        """Restore the resume state (CPU tensors) here, the last moment before training: the model is
        on its device, and nothing draws random numbers between now and the first batch."""
        if self._resume is not None:
            self.load_resume_state(self._resume)
            self._resume = None

    def configure_optimizers(self):
        """AdamW with `lr_schedule`, unless the config gives `optimizer:` (LightningCLI then replaces this method).

        Fused AdamW (several times faster than the per-tensor loop on CPU); per layer group lrs with
        `pretrained.lr_decay`. `cosine` decays to 0 over `max_steps`/`max_epochs` or `max_time`, whichever ends first,
        stepped every batch (LightningCLI's `lr_scheduler:` cannot see `max_time`). Under mixed precision the step is
        `foreach` AdamW: a fused one unscales inside its step, so Lightning would refuse to clip, and every config clips.
        """
        fused = not isinstance(self.trainer.precision_plugin, MixedPrecision) if self._trainer is not None else True
        decay = self.pretrained["lr_decay"]
        params = self.parameters() if decay == 1.0 else fine_tune.parameter_groups(self, self.lr, decay)
        optimizer = torch.optim.AdamW(params, lr=self.lr, weight_decay=self.weight_decay,
                                      fused=fused, foreach=not fused)
        if self.lr_schedule == "constant":
            return optimizer
        scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda step: 0.5 * (1 + math.cos(math.pi * self.progress(step))))
        return {"optimizer": optimizer, "lr_scheduler": {"scheduler": scheduler, "interval": "step"}}

    def progress(self, step: int) -> float:
        """Fraction of the run's budget used after `step` optimizer steps: of the steps, or of `max_time`."""
        # step 0 is the scheduler's first call, inside configure_optimizers: asking the trainer for its step budget
        # there builds the train loader before a resumed run's checkpoint is restored, and Lightning then never
        # restores the loader's position (pytorch-lightning issue #20550); 0 steps are 0 of any budget anyway
        total = self.trainer.estimated_stepping_batches if step > 0 else 0
        done = step / total if math.isfinite(total) and total > 0 else 0.0
        timer = next((c for c in self.trainer.callbacks if isinstance(c, Timer)), None)
        remaining = timer.time_remaining("train") if timer is not None else None
        if remaining is not None:
            elapsed = timer.time_elapsed("train")
            done = max(done, elapsed / max(elapsed + remaining, 1e-9))
        return min(done, 1.0)
