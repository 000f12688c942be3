"""The cpu suite's transfer entries (configs/benchmarks/cpu.yaml) run through `seqlit benchmark` as written,
made tiny: the pretraining recipes train 2 steps on small copies of their data, and the task recipes start from
those runs' best checkpoints through their `{NAME.best_checkpoint}` placeholders.

The task recipes need checkpoints, so the config matrix (tests/cluster/test_config_matrix.py) leaves them to
this test; it trains the pretraining recipes itself too. Sizes shrink through data keys only, as there.
"""

from __future__ import annotations

import json

import yaml

from seqlit.benchmark import results
from tests.cluster.test_config_matrix import SHRINK, data_section, small_data  # noqa: F401 (a fixture)
from tests.conftest import REPO, needs_shared_data, run_seqlit

CPU = REPO / "configs" / "benchmarks" / "cpu.yaml"
TINY = {"trainer.limit_val_batches": 1, "trainer.val_check_interval": 1, "trainer.limit_test_batches": 1,
        "trainer.num_sanity_val_steps": 0, "trainer.callbacks": []}


def tiny_transfer_suite(path) -> list[str]:
    """configs/benchmarks/cpu.yaml's transfer-* entries as a suite at `path`, 2 steps each, one seed; their names."""
    suite = yaml.safe_load(CPU.read_text())
    entries = [e for e in suite["entries"] if e["name"].startswith("transfer-")]
    for entry in entries:
        kind, init = data_section([str(REPO / entry["config"])])
        shrink = {f"data.init_args.{k}": v for k, v in SHRINK[kind].items()}
        if init.get("carve_validation"):  # the small SST-2 copy holds a few hundred whole sentences, not 872
            shrink["data.init_args.carve_validation"] = 8
        entry["overrides"] = {**shrink, **TINY, **entry.get("overrides", {})}
        entry["budget"] = {"max_steps": 2, "max_time": None}
        entry.pop("seeds", None)
        entry.pop("target", None)
    suite["entries"] = entries
    path.write_text(yaml.safe_dump(suite))
    return [e["name"] for e in entries]


@needs_shared_data
def test_transfer_recipes_chain_through_their_checkpoints(small_data, tmp_path):  # noqa: F811
    names = tiny_transfer_suite(tmp_path / "transfer.yaml")
    assert {"transfer-charlm-fwd", "transfer-charlm-bwd", "transfer-wordlm", "transfer-conll2003-charlm",
            "transfer-sst2-ulmfit", "transfer-sst2-textlm", "transfer-sst2-ulmfit-ft", "transfer-sst2-charlm"} <= set(names)
    out = tmp_path / "out"
    proc = run_seqlit("benchmark", "--suite", str(tmp_path / "transfer.yaml"), "--data_root", str(small_data),
                      "--out", str(out), "--wandb", "false", cwd=REPO, check=False)
    rows = {r["name"]: r for r in results.read(str(out / "results.jsonl"))}
    assert proc.returncode == 0 and all(r["status"] == "ok" for r in rows.values()), proc.stdout[-4000:]
    fwd, bwd, word = (rows[n]["best_checkpoint"] for n in ("transfer-charlm-fwd", "transfer-charlm-bwd", "transfer-wordlm"))
    for name, lms in (("transfer-conll2003-charlm", [fwd, bwd]), ("transfer-sst2-charlm", [fwd, bwd])):
        assert f"--model.init_args.pretrained.char_lms '{json.dumps(lms)}'" in rows[name]["command"]
        log = (out / rows[name]["log"]).read_text()
        assert "[seqlit] pretrained char LM forward" in log and "[seqlit] pretrained char LM backward" in log
    assert f"--model.init_args.pretrained.lm {word}" in rows["transfer-sst2-ulmfit"]["command"]
    assert "backbone units copied: rnn.l0" in (out / rows["transfer-sst2-ulmfit"]["log"]).read_text()
    # ULMFiT's second stage: the word LM fine-tunes on SST-2's text, and the classifier starts from that LM
    text_lm = rows["transfer-sst2-textlm"]["best_checkpoint"]
    assert f"--model.init_args.pretrained.lm {word}" in rows["transfer-sst2-textlm"]["command"]
    assert "backbone units copied: rnn.l0" in (out / rows["transfer-sst2-textlm"]["log"]).read_text()
    assert f"--model.init_args.pretrained.lm {text_lm}" in rows["transfer-sst2-ulmfit-ft"]["command"]
    assert "0 lower-cased" in (out / rows["transfer-sst2-ulmfit-ft"]["log"]).read_text()  # one vocabulary: exact rows
