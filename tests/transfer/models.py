"""Small task models the transfer tests load weights into."""

from __future__ import annotations

import torch

from seqlit.tasks import Classifier
from tests.conftest import with_backbone


def classifier(tokens: list[str], **kwargs) -> Classifier:
    """A classifier over `tokens` (16-d words, a 16-unit LSTM unless overridden), seeded."""
    torch.manual_seed(0)
    spec = {"vocab_size": len(tokens), "pad_id": 0, "unk_id": 1, "label_names": ["neg", "pos"]}
    args = {"embedding_dim": 16, "hidden_size": 16, "kind": "lstm"} | kwargs
    return Classifier(spec, **with_backbone(Classifier, **args))
