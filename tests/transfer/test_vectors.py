"""Word vectors from a text file: formats (header or not, gzip), exact-then-lower-cased matching, the coverage
report, the errors users meet, and freezing."""

from __future__ import annotations

import gzip
import logging
import types

import pytest
import torch

from seqlit.errors import SeqlitError
from seqlit.tasks import Classifier, LanguageModel, Seq2Seq, Tagger
from seqlit.transfer import fine_tune, pretrained as transfer
from seqlit.transfer.vectors import read_vectors
from seqlit.vocab import Vocab

# the file's words (most frequent first) and 3-d vectors: row i holds i, i + 0.5, -i
FILE_WORDS = ["the", "film", "Film", "Paris", "london", "good", "bad"]
VOCAB = ["<pad>", "<unk>", "the", "Film", "paris", "London", "good", "unseen"]
# VOCAB row -> FILE_WORDS row: exact for the, Film, good; lower-cased for paris (Paris), London (london)
EXPECTED = {2: 0, 3: 2, 4: 3, 5: 4, 6: 5}


def vector(i: int) -> list[float]:
    return [float(i), i + 0.5, -float(i)]


def write(path, header: bool = True, zipped: bool = False):
    lines = ([f"{len(FILE_WORDS)} 3"] if header else []) + \
            [" ".join([w, *(f"{x:g}" for x in vector(i))]) for i, w in enumerate(FILE_WORDS)]
    data = ("\n".join(lines) + "\n").encode()
    path.write_bytes(gzip.compress(data) if zipped else data)
    return path


@pytest.mark.parametrize("header, zipped, name", [(True, False, "w2v.txt"), (False, False, "glove.txt"),
                                                  (True, True, "cc.vec.gz"), (False, True, "no_suffix")])
def test_every_format_gives_the_same_vectors(tmp_path, header, zipped, name):
    rows, n_exact, n_lower = read_vectors(write(tmp_path / name, header, zipped), VOCAB, 3, skip={0})
    assert (n_exact, n_lower) == (3, 2)
    assert sorted(rows) == sorted(EXPECTED)
    for row, i in EXPECTED.items():
        assert rows[row].tolist() == vector(i), VOCAB[row]


def test_exact_match_wins_over_lower_case(tmp_path):
    """'Film' is in the file itself, after 'film': the exact entry is taken, not the first case-insensitive one."""
    rows, _, _ = read_vectors(write(tmp_path / "v.txt"), ["Film", "FILM"], 3)
    assert rows[0].tolist() == vector(2)
    assert rows[1].tolist() == vector(1)  # no exact 'FILM': the first spelling of film in the file


def model(**pretrained) -> Classifier:
    torch.manual_seed(0)
    spec = {"vocab_size": len(VOCAB), "pad_id": 0, "unk_id": 1, "label_names": ["neg", "pos"]}
    return Classifier(spec, embedding_dim=3, ensemble=2, pretrained=pretrained)


def test_loads_into_every_reader_with_a_coverage_line(tmp_path, caplog):
    m = model(vectors=str(write(tmp_path / "v.txt")))
    before = m.readers[0].embedding.weight.detach().clone()
    with caplog.at_level(logging.INFO):
        transfer.initialise(m, types.SimpleNamespace(vocab=Vocab(VOCAB)))
    report = [r.getMessage() for r in caplog.records if "pretrained" in r.getMessage()]
    assert len(report) == 1 and "\n" not in report[0]
    assert "5 of 7 words (71.4%)" in report[0] and "3 exact and 2 lower-cased" in report[0]
    for reader in m.readers:
        weight = reader.embedding.weight.detach()
        for row, i in EXPECTED.items():
            assert weight[row].tolist() == vector(i)
        assert weight[0].abs().sum() == 0
    for row in set(range(len(VOCAB))) - set(EXPECTED):  # padding, <unk> and the unseen word keep their initialisation
        assert torch.equal(m.readers[0].embedding.weight[row], before[row])


def test_every_task_names_its_embedding_and_vocabulary(tmp_path):
    path = str(write(tmp_path / "v.txt"))
    spec = {"vocab_size": len(VOCAB), "pad_id": 0, "unk_id": 1, "rare_start": len(VOCAB), "char_vocab_size": 5,
            "char_pad_id": 0, "num_casings": 3, "label_names": ["O", "B-X", "I-X"]}
    tagger = Tagger(spec, embedding_dim=3, pretrained={"vectors": path})
    lm = LanguageModel({"vocab_size": len(VOCAB), "pad_id": 0, "level": "word"}, embedding_dim=3,
                       pretrained={"vectors": path})
    seq2seq = Seq2Seq({"source_vocab_size": len(VOCAB), "target_vocab_size": 6, "source_pad_id": 0, "target_pad_id": 0,
                       "bos_id": 2, "eos_id": 3}, embedding_dim=3, pretrained={"vectors": path})
    for task, table, datamodule in (
            (tagger, tagger.word_embedding, types.SimpleNamespace(vocab=Vocab(VOCAB))),
            (lm, lm.embedding, types.SimpleNamespace(vocab=Vocab(VOCAB))),
            (seq2seq, seq2seq.source_embedding, types.SimpleNamespace(source_vocab=Vocab(VOCAB), vocab=None))):
        transfer.initialise(task, datamodule)
        assert table.weight[4].tolist() == vector(3), type(task).__name__


def test_a_wrong_dimension_is_one_line_naming_the_file_and_the_fix(tmp_path):
    m = Classifier({"vocab_size": len(VOCAB), "pad_id": 0, "unk_id": 1, "label_names": ["neg", "pos"]},
                   embedding_dim=8, pretrained={"vectors": str(write(tmp_path / "v.txt"))})
    with pytest.raises(SeqlitError) as err:
        transfer.initialise(m, types.SimpleNamespace(vocab=Vocab(VOCAB)))
    message = str(err.value)
    assert "\n" not in message and "v.txt" in message and "3-dimensional" in message
    assert "--model.init_args.embedding_dim 3" in message


def test_a_short_line_names_its_number(tmp_path):
    path = tmp_path / "v.txt"
    path.write_text("the 1 2 3\nfilm 1 2\n")
    with pytest.raises(SeqlitError, match=r"line 2 has 2 numbers .* have 3"):
        read_vectors(path, ["film"], 3)


def test_a_binary_file_is_refused_in_one_line(tmp_path):
    path = tmp_path / "vectors.bin"
    path.write_bytes(b"2 3\nthe \xff\xfe\x00\x01")
    with pytest.raises(SeqlitError, match="not UTF-8 text.*binary"):
        read_vectors(path, ["the"], 3)


def test_freeze_keeps_the_embeddings_out_of_training_and_unfreezing_climbs_from_the_top(tmp_path):
    m = model(vectors=str(write(tmp_path / "v.txt")), freeze=True)
    frozen = transfer.freeze(m)
    assert all(not r.embedding.weight.requires_grad for r in m.readers)
    groups = fine_tune.layer_groups(m)  # embeddings, backbone layer 0, the rest
    assert len(groups) == 3
    assert fine_tune.unfreeze(m, 0, frozen) == 1
    assert [any(p.requires_grad for p in g) for g in groups] == [False, False, True]
    fine_tune.unfreeze(m, 1, frozen)
    assert [any(p.requires_grad for p in g) for g in groups] == [False, True, True]
    fine_tune.unfreeze(m, 5, frozen)  # all groups' turn has come; the frozen embedding stays frozen
    assert [any(p.requires_grad for p in g) for g in groups] == [False, True, True]
    batch = torch.tensor([[2, 3, 4]]), torch.tensor([3])
    m.train()
    with torch.enable_grad():  # an in-process CLI test earlier in the run can leave grad mode off
        m.member_logits(*batch).sum().backward()
    assert all(r.embedding.weight.grad is None for r in m.readers)
    assert m.readers[0].backbone.rnn.weight_hh_l0.grad is not None


def test_contradictory_settings_are_refused():
    with pytest.raises(SeqlitError, match="vectors or lm, not both"):
        model(vectors="a.txt", lm="b.ckpt")
    with pytest.raises(SeqlitError, match="lr_decay must be 1 or more"):
        model(lr_decay=0.5)


def test_a_truncated_gzip_is_one_line(tmp_path):
    lines = "".join(f"w{i} {i} {i * 7 % 13} {i * 3 % 11}\n" for i in range(20000)).encode()
    zipped = gzip.compress(lines)
    path = tmp_path / "glove.txt.gz"
    path.write_bytes(zipped[: len(zipped) // 2])
    with pytest.raises(SeqlitError, match="cannot be read past line .*truncated or damaged"):
        read_vectors(path, ["w1"], 3)


@pytest.mark.parametrize("text, problem", [("the 1 2 x\n", "line 1: the numbers after 'the' are not all numbers"),
                                           ("", "holds no vectors")])
def test_a_word_without_numbers_or_an_empty_file_is_one_line(tmp_path, text, problem):
    path = tmp_path / "v.txt"
    path.write_text(text)
    with pytest.raises(SeqlitError, match=problem):
        read_vectors(path, ["the"], 3)
