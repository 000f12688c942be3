"""What a faithful mid-epoch resume needs beyond weights, optimizer and loop counters.

Lightning re-seeds the random generators at start-up and knows nothing of state a task keeps between batches
(the LM's hidden-state streams, epoch metric sums). Such state is per DDP rank and only rank 0 writes the
checkpoint, so each entry is gathered into a (world_size, ...) tensor and each rank takes its row back. All
plain tensors: checkpoints load with `weights_only=True` (docs/resume.md).
"""

from __future__ import annotations

import torch
from pytorch_lightning.utilities import rank_zero_warn
from torch import Tensor

KEY = "seqlit_resume"


def rng_state(device: torch.device) -> dict[str, Tensor]:
    """torch's CPU generator, and the CUDA one of `device` when it is a GPU (dropout draws from these).

    Python's `random` and NumPy are not saved: nothing in training draws from them.
    """
    state = {"rng_cpu": torch.get_rng_state()}
    if device.type == "cuda":
        state["rng_cuda"] = torch.cuda.get_rng_state(device)
    return state


def set_rng_state(state: dict[str, Tensor], device: torch.device) -> None:
    torch.set_rng_state(state["rng_cpu"])
    if "rng_cuda" in state and device.type == "cuda":
        torch.cuda.set_rng_state(state["rng_cuda"], device)


def gather(module, state: dict[str, Tensor]) -> dict[str, Tensor]:
    """Each entry from every rank, stacked (world_size, ...) on the CPU. All ranks must call it (they do, when saving)."""
    world = module.trainer.world_size
    out = {}
    for name, value in state.items():
        stacked = module.all_gather(value.detach())
        out[name] = (stacked if world > 1 else stacked.unsqueeze(0)).cpu()
    return out


def this_rank(module, saved: dict[str, Tensor] | None) -> dict[str, Tensor] | None:
    """This rank's row of what `gather` stored, or None (with a warning) if the number of processes changed.

    Without a trainer (`Task.load_from_checkpoint(path)` in plain Python, for inference) the model is one
    process: it takes rank 0's row, and `module.trainer` must not be touched (it raises when detached).
    """
    if not saved:
        return None
    trainer = module._trainer
    world, rank = (trainer.world_size, trainer.global_rank) if trainer is not None else (1, 0)
    written_by = {v.size(0) for v in saved.values()}
    if written_by != {world}:
        rank_zero_warn(f"[seqlit] the checkpoint was written by {written_by.pop()} process(es) and this run has {world}: "
                       "random generators and recurrent states start afresh instead of where they were")
        return None
    # a copy, not a view into the stacked tensor: torch.set_rng_state reads a view's storage from its start
    # (rank 1's row of rng_cpu is then an invalid state, or a segfault)
    return {name: value[rank].clone() for name, value in saved.items()}
