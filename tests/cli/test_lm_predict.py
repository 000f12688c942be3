"""`predict --data.init_args.predict_file F` with a language-model checkpoint: the one line says that a language model
continues a prompt with `generate`; it used to suggest the very key that was refused ("did you mean 'predict_file'?")."""

from __future__ import annotations

import shutil

from tests.conftest import REPO, run_seqlit


def test_predict_with_a_language_model_points_at_generate(tmp_path):
    shutil.copy(REPO / "tests" / "fixtures" / "legacy" / "language_model.ckpt", tmp_path)
    (tmp_path / "in.txt").write_text("the cat\n", encoding="utf-8")
    proc = run_seqlit("predict", "--ckpt_path", "language_model.ckpt", "--data.init_args.predict_file", "in.txt",
                      "--num_threads", "1", cwd=tmp_path, check=False)
    (line,) = proc.stderr.splitlines()
    assert proc.returncode == 2 and line.startswith("seqlit: error: unknown key 'data.init_args.predict_file'")
    assert "did you mean" not in line and "LanguageModelingData does not take it" in line
    assert "python -m seqlit generate --ckpt_path CKPT --prompt TEXT" in line
    assert not (tmp_path / "runs").exists()
