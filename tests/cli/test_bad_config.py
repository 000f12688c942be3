"""Config mistakes end in one line that names the key and suggests the fix, and exit code 2."""

from __future__ import annotations

import pytest

from tests.conftest import REPO, run_seqlit

QUICK = str(REPO / "configs" / "quickstart.yaml")


@pytest.mark.parametrize(
    "args, expected",
    [
        (["--model.init_args.hiden_size", "8"], "did you mean 'backbone.hidden_size'"),
        (["--trainer.max_epohs", "3"], "did you mean 'max_epochs'"),
        (["--model.init_args.backbone.kind", "lsmt"], "model.init_args.backbone.kind"),
        (["--data.init_args.batch_size", "0"], "data.batch_size must be a positive number"),
        (["--data.init_args.path", "./no/such/folder"], "does not exist"),
    ],
)
def test_one_line_error(tmp_path, args, expected):
    proc = run_seqlit("fit", "--config", QUICK, *args, cwd=tmp_path, check=False)
    assert proc.returncode == 2
    lines = [line for line in proc.stderr.splitlines() if line.startswith("seqlit: error:")]
    assert len(lines) == 1 and expected in lines[0], proc.stderr[-2000:]
    assert "Traceback" not in proc.stderr


def test_misspelt_key_in_yaml(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("model:\n  class_path: seqlit.tasks.LanguageModel\n  init_args:\n    hiden_size: 8\n")
    proc = run_seqlit("fit", "--config", QUICK, "--config", str(bad), cwd=tmp_path, check=False)
    assert proc.returncode == 2 and "did you mean 'backbone.hidden_size'" in proc.stderr


def test_debug_env_shows_traceback(tmp_path):
    proc = run_seqlit("fit", "--config", QUICK, "--data.init_args.batch_size", "0", cwd=tmp_path, check=False,
                      env={"SEQLIT_DEBUG": "1"})
    assert proc.returncode != 0 and "Traceback" in proc.stderr


def test_print_config_works(tmp_path):
    proc = run_seqlit("fit", "--config", QUICK, "--print_config", cwd=tmp_path)
    assert "class_path: seqlit.tasks.LanguageModel" in proc.stdout
    assert "    mode: offline\n" in proc.stdout  # what the run will do: W&B logs offline unless WANDB_MODE says otherwise
    online = run_seqlit("fit", "--config", QUICK, "--print_config", cwd=tmp_path, env={"WANDB_MODE": "online"})
    assert "    mode: online\n" in online.stdout
