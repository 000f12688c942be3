"""Fixtures of the tagging tests."""

from pathlib import Path

import pytest
from tagging_corpus import make_conll_dir


@pytest.fixture
def conll_dir(tmp_path: Path) -> Path:
    return make_conll_dir(tmp_path / "ner")
