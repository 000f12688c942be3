"""LightningDataModules: Hugging Face `datasets` in, padded tensors out.

Each module takes `path` (a hub id for users online, or local files) and
builds its vocabularies from the training split only.
"""

from data_modules.base import SeqDataModule
from data_modules.conditional import ConditionalData
from data_modules.dates import DatesData
from data_modules.language_modeling import LanguageModelingData
from data_modules.sentiment import SentimentData
from data_modules.tagging import TaggingData
from data_modules.translation import TranslationData

__all__ = ["SeqDataModule", "ConditionalData", "DatesData", "LanguageModelingData", "SentimentData", "TaggingData", "TranslationData"]
