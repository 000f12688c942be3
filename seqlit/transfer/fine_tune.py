"""Fine-tuning a pretrained network without wiping out what it knows (ULMFiT, Howard & Ruder 2018).

Layer groups, bottom to top: word embedding(s), each backbone layer, everything else. Lower layers hold the most
general knowledge and move least: group g of G gets `lr / lr_decay ** (G - 1 - g)`, and with gradual unfreezing
only the top e + 1 groups train in epoch e. Each backbone names its layers (`Backbone.layer_groups`: `Recurrent` one per stacked layer, a backbone that
names none one group); layer k of an ensemble's backbones shares a group (docs/transfer.md).
"""

from __future__ import annotations

from torch import nn


def layer_groups(task) -> list[list[nn.Parameter]]:
    """The task's trainable parameters by layer group, bottom (the word embeddings) to top (the rest)."""
    targets = task.transfer_targets()
    groups: list[list[nn.Parameter]] = [[p for embedding, _ in targets for p in embedding.parameters()]]
    by_layer: dict[int, list[nn.Parameter]] = {}
    for _, backbone in targets:
        for k, layer in enumerate(backbone.layer_groups()):
            by_layer.setdefault(k, []).extend(layer)
    groups += [by_layer[k] for k in sorted(by_layer)]
    taken = {id(p) for group in groups for p in group}
    groups.append([p for p in task.parameters() if id(p) not in taken])
    return [group for group in groups if group]


def parameter_groups(task, lr: float, lr_decay: float) -> list[dict]:
    """Optimizer parameter groups with discriminative learning rates (one group per layer group)."""
    groups = layer_groups(task)
    return [{"params": group, "lr": lr / lr_decay ** (len(groups) - 1 - g)} for g, group in enumerate(groups)]


def unfreeze(task, epoch: int, keep_frozen: set[int] = frozenset()) -> int:
    """Let only the top `epoch + 1` layer groups train; parameters in `keep_frozen` (ids) never do.

    Returns how many groups train now.
    """
    groups = layer_groups(task)
    trained = min(epoch + 1, len(groups))
    for g, group in enumerate(groups):
        for p in group:
            p.requires_grad_(g >= len(groups) - trained and id(p) not in keep_frozen)
    return trained
