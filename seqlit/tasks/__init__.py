"""One LightningModule per architecture of the course."""

from seqlit.tasks.base import SeqTask
from seqlit.tasks.classifier import Classifier
from seqlit.tasks.conditional_lm import ConditionalLanguageModel
from seqlit.tasks.language_model import LanguageModel
from seqlit.tasks.seq2seq import Seq2Seq
from seqlit.tasks.tagger import Tagger

__all__ = ["SeqTask", "Classifier", "ConditionalLanguageModel", "LanguageModel", "Seq2Seq", "Tagger"]
