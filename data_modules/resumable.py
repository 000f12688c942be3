"""A DataLoader that remembers how far into the epoch it got, so a resumed run continues there.

Lightning's fit loop saves `state_dict()` of every training loader that has one
(`checkpoint["loops"]["fit_loop"]["state_dict"]["combined_loader"]`) and, when
a run resumes from a mid-epoch checkpoint, calls `load_state_dict()` before it
iterates again; it does not skip batches itself. Here the state is two plain
ints: the sampler's epoch, and how many batches this loader handed out in that
epoch. On load the sampler is told to skip that many batches (`resume_from`),
without loading them.

The count is taken at the loader's output, not in the sampler: with worker
processes the sampler runs ahead of the batches trained on (prefetching).

Lightning calls `set_epoch` on `loader.sampler` and on
`loader.batch_sampler.sampler`, never on the batch sampler itself, so a
bucketing batch sampler would replay epoch 0's order every epoch; the loader
gives it a `sampler` that relays `set_epoch` to it.

The loader gets a generator of its own: DataLoader otherwise draws a worker
seed from torch's global generator each time it is iterated, and a resumed run
iterates at other moments than an uninterrupted one, which would shift every
later dropout mask.
"""

from __future__ import annotations

from typing import Any

import torch
from torch.utils.data import DataLoader


class ResumableLoader(DataLoader):
    """A DataLoader whose sampler (`batch_sampler`, else `sampler`) has `epoch`, `set_epoch`, `resume_from` and `__len__`."""

    def __init__(self, *args, generator: torch.Generator | None = None, **kwargs):
        super().__init__(*args, generator=generator if generator is not None else torch.Generator().manual_seed(0), **kwargs)
        self.served = 0
        if self.batch_sampler is not None and hasattr(self.batch_sampler, "set_epoch") and not hasattr(self.batch_sampler, "sampler"):
            self.batch_sampler.sampler = _EpochRelay(self.batch_sampler)

    @property
    def position_sampler(self):
        return self.batch_sampler if self.batch_sampler is not None else self.sampler

    def __iter__(self):
        self.served = self.position_sampler.resume_from
        return _Counted(self, super().__iter__())

    def state_dict(self) -> dict[str, Any]:
        return {"epoch": int(self.position_sampler.epoch), "batches": int(self.served)}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        sampler = self.position_sampler
        sampler.set_epoch(state["epoch"])
        # a checkpoint taken after the epoch's last batch resumes at the next epoch's start
        sampler.resume_from = state["batches"] if state["batches"] < len(sampler) else 0


class _EpochRelay:
    """Where Lightning looks for `set_epoch` (`batch_sampler.sampler`), passing it on to the batch sampler."""

    def __init__(self, batch_sampler):
        self.batch_sampler = batch_sampler

    def set_epoch(self, epoch: int) -> None:
        self.batch_sampler.set_epoch(epoch)


class _Counted:
    """The loader's iterator, counting the batches it hands out."""

    def __init__(self, loader: ResumableLoader, iterator):
        self.loader, self.iterator = loader, iterator

    def __iter__(self):
        return self

    def __next__(self):
        batch = next(self.iterator)
        self.loader.served += 1
        return batch
