"""Several condition fields: each column its own names, (B, F) batches, the FIELD=NAME form and its errors,
one table per field in the model, and a fit -> generate round trip in which each field decides part of the text."""

from __future__ import annotations

import datasets
import pytest
import torch

from data_modules import ConditionalData
from data_modules.conditions import condition_ids, upgrade_state
from seqlit.errors import SeqlitError
from seqlit.tasks import ConditionalLanguageModel
from seqlit.io.upgrades import upgrade
from seqlit.vocab import UNK
from tests.conditional.corpus import write_fields_corpus
from tests.sentiment.corpus import LABELS, make_sst_dir, sentences

FIELDS = {"mood": [UNK, "happy", "sad"], "place": [UNK, "city", "sea"]}


def fields_data(folder, **kwargs) -> ConditionalData:
    args = dict(path=str(folder), text_column="text", condition_columns=["mood", "place"], max_vocab=None,
                batch_size=4, eval_batch_size=4, seed=0)
    return ConditionalData(**(args | kwargs))


# -- data ---------------------------------------------------------------------------------------------------
def test_each_condition_column_is_a_field_with_its_own_names(tmp_path):
    dm = fields_data(write_fields_corpus(tmp_path / "c", per_pair=3))
    assert dm.data_spec["condition_fields"] == FIELDS
    train, val = dm.encoded("train"), dm.encoded("validation")
    assert len(train) == 12  # the two rows with a field missing are left out
    assert train["conditions"][:4] == [[1, 1], [1, 2], [2, 1], [2, 2]] and train["text"][1] == "smiles by the waves"
    assert val["conditions"][-1] == [2, 0]  # a place training never saw is the place's <unk>
    batch = dm.collate([train[0], train[3]])
    assert batch["conditions"].tolist() == [[1, 1], [2, 2]] and batch["conditions"].dtype == torch.long


def test_a_classlabel_column_and_a_string_column_together(tmp_path):
    folder = tmp_path / "sst"
    folder.mkdir()
    features = datasets.Features({"sentence": datasets.Value("string"), "label": datasets.ClassLabel(names=LABELS),
                                  "topic": datasets.Value("string")})
    for split, n in (("train", 20), ("validation", 6)):
        texts, labels = sentences(n)
        topics = ["film" if i % 3 else "cast" for i in range(n)]
        datasets.Dataset.from_dict({"sentence": texts, "label": labels, "topic": topics},
                                   features=features).to_parquet(str(folder / f"{split}.parquet"))
    dm = ConditionalData(path=str(folder), condition_columns=["label", "topic"], test_split="validation",
                         batch_size=4, eval_batch_size=4, seed=0)
    assert dm.data_spec["condition_fields"] == {"label": ["negative", "positive"], "topic": [UNK, "cast", "film"]}
    assert dm.encoded("train")["conditions"][:3] == [[1, 1], [0, 2], [1, 2]]


def test_condition_fields_travel_with_the_checkpoint_state(tmp_path):
    folder = write_fields_corpus(tmp_path / "c", per_pair=2)
    state = fields_data(folder).state_dict()
    assert state["vocab"]["condition_fields"] == FIELDS
    other = fields_data(folder, vocab_from=None)
    other.load_state_dict(state)
    assert other.condition_fields == FIELDS and other.condition_ids("place=sea,mood=sad") == [2, 2]
    with pytest.raises(SeqlitError, match="the checkpoint's condition fields are mood, place, but the data's are mood: "
                                          "set data.init_args.condition_columns to the checkpoint's"):
        fields_data(folder, condition_columns=["mood"]).load_vocab_state(state["vocab"])


def test_a_one_field_state_of_the_old_layout_is_one_field_named_by_the_data(tmp_path):
    folder = make_sst_dir(tmp_path / "sst", n_train=20)
    new = ConditionalData(path=str(folder), batch_size=4, eval_batch_size=4, seed=0)
    built = new.state_dict()["vocab"]
    old = {k: v for k, v in built.items() if k != "condition_fields"} | {"condition_names": ["negative", "positive"]}
    assert upgrade_state(old, "label") == built
    new.load_state_dict({"vocab_format": 1, "vocab": old})  # the same data: resuming an old checkpoint is no mismatch
    assert new.condition_fields == {"label": ["negative", "positive"]} and new.condition_ids("positive") == [1]


def test_bad_condition_columns_are_one_line(tmp_path):
    folder = write_fields_corpus(tmp_path / "c", per_pair=2)
    with pytest.raises(SeqlitError, match=r"split 'train' has no column 'topic' .*set --data.init_args.condition_columns"):
        fields_data(folder, condition_columns=["mood", "topic"]).data_spec
    with pytest.raises(SeqlitError, match="must name one or more distinct columns"):
        fields_data(folder, condition_columns=["mood", "mood"])
    with pytest.raises(SeqlitError, match="data.label_names names the ids of one condition column"):
        fields_data(folder, label_names=["a", "b"])
    with pytest.raises(SeqlitError, match="source 'speakers' has one field, the speaker"):
        ConditionalData(path=str(folder), source="speakers", condition_columns=["mood"])


# -- naming a condition -------------------------------------------------------------------------------------
def test_a_condition_is_a_value_per_field_or_one_bare_name():
    assert condition_ids("mood=sad,place=city", FIELDS) == [2, 1]
    assert condition_ids(" place = sea , mood = happy ", FIELDS) == [1, 2]
    one = {"speaker": [UNK, "ROMEO", "DUKE VINCENTIO"]}
    assert condition_ids("DUKE VINCENTIO", one) == [2] and condition_ids("speaker=ROMEO", one) == [1]


@pytest.mark.parametrize("text, line", [
    (None, "this checkpoint writes under a condition: pass --condition, mood=NAME,place=NAME "
           "(mood: '<unk>', 'happy', 'sad'; place: '<unk>', 'city', 'sea')"),
    ("happy", "--condition 'happy' names no field, and this model reads 2 (mood, place): pass mood=NAME,place=NAME "
              "(mood: '<unk>', 'happy', 'sad'; place: '<unk>', 'city', 'sea')"),
    ("mood=happy", "--condition 'mood=happy' lacks place: pass mood=NAME,place=NAME "
                   "(mood: '<unk>', 'happy', 'sad'; place: '<unk>', 'city', 'sea')"),
    ("mood=happy,colour=red", "unknown condition field 'colour': the model knows 'mood', 'place'"),
    ("mood=happy,place=moon", "unknown condition place='moon': the model knows place '<unk>', 'city', 'sea'"),
    ("mood=happy,mood=sad", "--condition 'mood=happy,mood=sad' names field 'mood' twice: name each of mood, place once"),
    ("mood=happy,sea", "--condition 'mood=happy,sea': 'sea' is not FIELD=NAME: pass mood=NAME,place=NAME "
                       "(mood: '<unk>', 'happy', 'sad'; place: '<unk>', 'city', 'sea')"),
])
def test_a_bad_condition_is_one_line_naming_what_the_model_knows(text, line):
    with pytest.raises(SeqlitError) as err:
        condition_ids(text, FIELDS)
    assert str(err.value) == line


# -- model --------------------------------------------------------------------------------------------------
def model(mode: str = "both", condition_dim=4) -> ConditionalLanguageModel:
    torch.manual_seed(0)
    spec = {"vocab_size": 12, "pad_id": 0, "level": "word", "condition_fields": FIELDS}
    return ConditionalLanguageModel(spec, backbone={"class_path": "seqlit.nn.Recurrent", "init_args": {"hidden_size": 8}},
                                    condition=mode, condition_dim=condition_dim, embedding_dim=6, dropout=0.0,
                                    embedding_dropout=0.0).eval()


def test_one_table_per_field_and_e_their_concatenation():
    m = model("both", condition_dim=[2, 5])
    assert [t.weight.shape for t in m.condition_embeddings] == [(3, 2), (3, 5)]
    assert m.bridge.in_features == 7 and m.backbone.input_size == 6 + 7
    e = m.condition_vector(torch.tensor([[1, 2]]))
    assert torch.equal(e, torch.cat([m.condition_embeddings[0].weight[1], m.condition_embeddings[1].weight[2]])[None])
    with pytest.raises(SeqlitError, match=r"model.condition_dim must be one positive size or one per condition field \(mood, place\)"):
        model(condition_dim=[2, 5, 1])


@pytest.mark.parametrize("mode", ["init", "concat", "both", "none"])
def test_each_field_changes_what_the_model_writes_except_in_none(mode):
    m, ids = model(mode), torch.tensor([[2, 5, 6]])
    logp = {c: m.step(ids, torch.tensor([c]))[0] for c in [(1, 1), (2, 1), (1, 2)]}
    assert torch.allclose(logp[(1, 1)], logp[(2, 1)]) == torch.allclose(logp[(1, 1)], logp[(1, 2)]) == (mode == "none")
    assert m.describe()["condition_fields"] == ["mood", "place"] and m.describe()["conditions"] == 6


def test_a_one_field_spec_and_weights_of_the_old_layout_load():
    spec = {"vocab_size": 12, "pad_id": 0, "level": "word", "condition_names": ["negative", "positive"]}
    today = ConditionalLanguageModel(dict(spec, condition_fields={"condition": spec["condition_names"]}), condition_dim=4)
    state = {("condition_embedding.weight" if k == "condition_embeddings.0.weight" else k): v for k, v in today.state_dict().items()}
    ckpt = upgrade({"hyper_parameters": {"_class_path": "seqlit.tasks.ConditionalLanguageModel", "data_spec": spec,
                                         "condition_dim": 4}, "state_dict": state})
    hparams = {k: v for k, v in ckpt["hyper_parameters"].items() if k != "_class_path"}
    m = ConditionalLanguageModel(**hparams)
    m.load_state_dict(ckpt["state_dict"])
    assert m.condition_fields == {"condition": ["negative", "positive"]}
