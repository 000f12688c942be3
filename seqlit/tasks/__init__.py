"""One LightningModule per architecture of the course."""

from seqlit.tasks.base import SeqTask
from seqlit.tasks.language_model import LanguageModel

__all__ = ["SeqTask", "LanguageModel"]
