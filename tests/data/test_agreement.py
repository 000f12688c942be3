"""The agreement task: deterministic by seed, fresh per epoch, balanced, and only the subject decides."""

from types import SimpleNamespace

import datasets
import numpy as np

from data_modules.synthetic import AgreementData


def batches(dm, split="train", epoch=0):
    dm.trainer = SimpleNamespace(current_epoch=epoch, global_rank=0, world_size=1)
    loader = {"train": dm.train_dataloader, "validation": dm.val_dataloader, "test": dm.test_dataloader}[split]()
    return [b for b in loader]


def make(**kw):
    dm = AgreementData(distractor_length=7, train_size=200, val_size=50, test_size=60, batch_size=32, **kw)
    dm.ensure_vocab()
    return dm


def texts(bs):
    return sorted(t for b in bs for t in b["texts"])


def test_deterministic_and_fresh_each_epoch():
    a, b = make(), make()
    assert texts(batches(a)) == texts(batches(b))
    assert texts(batches(a, epoch=1)) != texts(batches(a, epoch=0))
    assert texts(batches(a, "test", epoch=0)) == texts(batches(a, "test", epoch=3)), "held-out sets never change"
    fixed = make(fresh_each_epoch=False)
    assert texts(batches(fixed, epoch=1)) == texts(batches(fixed, epoch=0))


def test_shape_labels_and_subject_number():
    dm = make()
    bs = batches(dm)
    labels = [int(y) for b in bs for y in b["labels"]]
    assert 0.35 < sum(labels) / len(labels) < 0.65
    for b in bs:
        assert (b["lengths"] == 7 + 4).all()
        for text, y in zip(b["texts"], b["labels"].tolist()):
            words = text.split()
            assert words[0] == "the" and words[2] == "which" and words[-1] == "<verb>"
            assert (words[1] in dm.lexicon.plural) == bool(y)
    clauses = {w for b in bs for t in b["texts"] for w in t.split()[3:-1]}
    assert clauses & set(dm.lexicon.plural) and clauses & set(dm.lexicon.singular), "distractors hold nouns of both numbers"


def test_fixed_sets_are_generated_once_into_the_cache_and_fresh_training_is_not():
    """Validation/test (and training with fresh_each_epoch false) are Arrow files reused by a second run."""
    def small(**kw):
        dm = AgreementData(distractor_length=3, train_size=40, val_size=30, test_size=30, seed=9, **kw)
        dm.ensure_vocab()
        return dm

    val = small().encoded("validation")
    assert isinstance(val, datasets.Dataset) and val.cache_files
    again = small().encoded("validation")
    assert again.cache_files == val.cache_files and again[:] == val[:]
    assert not isinstance(small().encoded("train"), datasets.Dataset)  # drawn afresh every epoch
    fixed = small(fresh_each_epoch=False)
    assert isinstance(fixed.encoded("train"), datasets.Dataset)
    lengths = fixed.lengths(fixed.encoded("train"))
    assert isinstance(lengths, np.ndarray) and lengths.tolist() == [len(ids) for ids in fixed.encoded("train")["ids"]]
