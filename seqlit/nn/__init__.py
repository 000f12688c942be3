"""Recurrent building blocks: readable cells and the `Recurrent` backbone."""

from seqlit.nn.recurrent import Recurrent

__all__ = ["Recurrent"]
