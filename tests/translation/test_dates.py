"""The date generator: deterministic, varied, correct, and held-out dates really unseen."""

from __future__ import annotations

import random
import re
from datetime import date

from data_modules.dates import FORMATS, DatesData, generate, ordinal, split_days


def test_every_format_renders_its_own_example_for_march_3rd_2021():
    """Each format's name is its rendering of 2021-03-03 (up to the random casing of names)."""
    d = date(2021, 3, 3)
    for name, render in FORMATS.items():
        assert render(d, random.Random(0)).lower() == name


def test_weekdays_are_real_and_ordinals_are_english():
    assert FORMATS["wednesday, march 3rd 2021"](date(2024, 2, 29), random.Random(1)).lower() == "thursday, february 29th 2024"
    assert [ordinal(n) for n in (1, 2, 3, 4, 11, 12, 13, 21, 22, 23, 31)] == \
        ["1st", "2nd", "3rd", "4th", "11th", "12th", "13th", "21st", "22nd", "23rd", "31st"]


def test_generation_is_deterministic_by_seed():
    a, b = DatesData(train_size=200, seed=3), DatesData(train_size=200, seed=3)
    assert a.pairs("train") == b.pairs("train")
    assert a.pairs("train") != DatesData(train_size=200, seed=4).pairs("train")
    # example i does not depend on how many are generated
    days = split_days(0)["train"]
    assert generate(days, 50, 0, "train")[0][:20] == generate(days, 20, 0, "train")[0]


def test_many_formats_and_casings_appear():
    sources, targets = DatesData(train_size=1000).pairs("train")
    assert all(re.fullmatch(r"\d{4}-\d{2}-\d{2}", t) for t in targets)
    assert len(set(sources)) > 990
    shapes = {re.sub(r"[a-z]+", "a", re.sub(r"[A-Z][a-z]+|[A-Z]+", "A", re.sub(r"\d+", "9", s))) for s in sources}
    assert len(shapes) >= 20  # 18 formats, several casings of month and weekday names
    assert any("/" in s for s in sources) and any("." in s for s in sources) and any("of" in s for s in sources)


def test_held_out_days_are_never_trained_on():
    days = split_days(0)
    assert not set(days["train"]) & set(days["validation"]) and not set(days["train"]) & set(days["test"])
    dm = DatesData(train_size=3000, val_size=300, test_size=300)
    trained = set(dm.pairs("train")[1])
    assert not trained & set(dm.pairs("validation")[1]) and not trained & set(dm.pairs("test")[1])


def test_character_vocabularies_and_batches():
    dm = DatesData(train_size=500, batch_size=16)
    spec = dm.data_spec
    assert spec["target_vocab_size"] == 4 + 11  # specials, ten digits and '-'
    batch = next(iter(dm.train_dataloader()))
    assert batch["target_in"][:, 0].eq(spec["bos_id"]).all()
    assert batch["target_out"].eq(spec["eos_id"]).sum(1).eq(1).all()
    assert batch["source_lengths"].max() == batch["source_ids"].size(1)
    assert dm.target_text(dm.target_vocab.encode("2021-03-03")) == "2021-03-03"
