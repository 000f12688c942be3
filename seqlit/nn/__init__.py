"""Recurrent building blocks: the backbone contract, readable cells and the `Recurrent` backbone."""

from seqlit.nn.backbone import Backbone, BackboneFactory
from seqlit.nn.recurrent import Recurrent

__all__ = ["Backbone", "BackboneFactory", "Recurrent"]
