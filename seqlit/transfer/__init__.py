"""Transfer: a task's word embedding and backbone start from pretrained weights (word vectors, a seqlit word LM)
and are fine-tuned with discriminative learning rates and gradual unfreezing. Written once for every task on
top of `SeqTask`; see docs/transfer.md."""

from seqlit.transfer.pretrained import Pretrained

__all__ = ["Pretrained"]
