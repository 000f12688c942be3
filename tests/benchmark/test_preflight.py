"""Every entry's config is parsed before the first entry trains: a mistake in the last entry costs seconds."""

from __future__ import annotations

import textwrap

import pytest

from seqlit.benchmark import command
from seqlit.errors import SeqlitError
from tests.conftest import REPO

QUICK = str(REPO / "configs" / "quickstart.yaml")


def suite(tmp_path, last: str) -> str:
    path = tmp_path / "suite.yaml"
    path.write_text(textwrap.dedent(f"""\
        suite: t
        defaults: {{config: {QUICK}, dataset: pydoc_topics, budget: {{max_steps: 3}}}}
        entries:
          - name: a
          - name: b
            after: a
            overrides: {{ckpt_path: "{{a.best_checkpoint}}"}}   # resolved only once a has run: not parsed
        """) + textwrap.indent(textwrap.dedent(last), "  "))
    return str(path)


@pytest.fixture
def nothing_trains(monkeypatch):
    def train(*args, **kwargs):
        raise AssertionError("an entry trained before every config was checked")
    monkeypatch.setattr(command, "run_entry", train)


def test_a_bad_override_in_the_last_entry_stops_the_run_before_the_first(tmp_path, nothing_trains):
    path = suite(tmp_path, "- name: c\n  overrides: {model.init_args.backbone.kindd: gru}\n")
    with pytest.raises(SeqlitError) as err:
        command.main(["--suite", path, "--out", str(tmp_path / "out"), "--wandb", "false"])
    assert str(err.value) == (f"{path}: entry c: unknown key 'model.init_args.backbone.kindd' for seqlit.nn.Recurrent; "
                              "did you mean 'kind'? (from option --model.init_args.backbone.kindd)")
    assert not (tmp_path / "out").exists()


@pytest.mark.slow  # a second parse in a child process; the first test covers the path
def test_a_bad_config_file_is_named_with_its_line(tmp_path, nothing_trains):
    (tmp_path / "typo.yaml").write_text("trainer:\n  max_stepz: 3\n")
    path = suite(tmp_path, f"- name: c\n  config: [{QUICK}, {tmp_path / 'typo.yaml'}]\n")
    with pytest.raises(SeqlitError) as err:
        command.main(["--suite", path, "--out", str(tmp_path / "out"), "--wandb", "false"])
    assert str(err.value).startswith(f"{path}: entry c: unknown config key 'trainer.max_stepz'")
    assert str(err.value).endswith(f"(from {tmp_path / 'typo.yaml'}:2)")
