"""Reading each sequence of a padded batch backwards within its own length: the reverse direction of a layer."""

from torch import Tensor
import torch


def reversal_index(lengths: Tensor, steps: int) -> Tensor:
    """(T, B) time index that reverses each sequence within its own length.

    Step t of sequence b maps to ``lengths[b] - 1 - t``; padded steps map to
    themselves, so padding stays at the end.  The map is its own inverse.
    """
    time = torch.arange(steps, device=lengths.device)[:, None]
    flipped = lengths - 1 - time
    return torch.where(flipped >= 0, flipped, time)


def reverse(seq: Tensor, index: Tensor | None) -> Tensor:
    """Reverse time-major ``seq`` (T, B, F) per sequence; whole-T flip without lengths."""
    if index is None:
        return seq.flip(0)
    return seq.gather(0, index.unsqueeze(-1).expand_as(seq))
