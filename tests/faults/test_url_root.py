"""A URL `--trainer.default_root_dir` holds the run with the default W&B logger too (seqlit/callbacks/url_root.py):
checkpoints, config.yaml and results.json under the URL, nothing under ./runs but W&B's own files, and
`--ckpt_path` on the URL resumes."""

from __future__ import annotations

import json

import torch

from tests.conftest import REPO, run_seqlit

FIT = ["--config", str(REPO / "configs" / "quickstart.yaml"), "--data.init_args.level", "word",
       "--model.init_args.backbone.hidden_size", "16", "--data.init_args.batch_size", "8", "--data.init_args.bptt", "16",
       "--seed_everything", "0", "--num_threads", "1", "--trainer.max_time", "null", "--test_after_fit", "true",
       "--trainer.enable_progress_bar", "false", "--trainer.enable_model_summary", "false",
       "--trainer.val_check_interval", "3", "--trainer.limit_val_batches", "2", "--trainer.limit_test_batches", "2"]


def test_fit_into_a_file_url_with_the_default_logger(tiny_corpus, tmp_path):
    cwd, root = tmp_path / "cwd", tmp_path / "root"
    cwd.mkdir()
    args = [*FIT, "--data.init_args.path", str(tiny_corpus), "--trainer.default_root_dir", root.as_uri()]
    local = {"WANDB_DIR": str(cwd / "runs")}  # where W&B's files go unset (CI sets WANDB_DIR): runs/wandb
    run_seqlit("fit", *args, "--trainer.max_steps", "6", cwd=cwd, env=local)

    (run,) = (root / "seqlit").iterdir()  # <root>/<project>/<W&B run id>
    assert {p.name for p in run.iterdir()} == {"checkpoints", "config.yaml", "results.json"}
    results = json.loads((run / "results.json").read_text())
    assert results["status"] == "finished" and results["global_step"] == 6 and results["stages"] == ["fit", "test"]
    assert results["best_checkpoint"].startswith(root.as_uri())
    written = {p.relative_to(cwd).parts[:2] for p in cwd.rglob("*") if p.is_file()}
    assert written == {("runs", "wandb")}, written  # W&B's local files, and nothing else, in the working directory
    assert list((cwd / "runs" / "wandb").glob(f"offline-run-*-{run.name}"))  # the same run id: synced as today

    last = f"{root.as_uri()}/seqlit/{run.name}/checkpoints/last.ckpt"
    run_seqlit("fit", *args, "--trainer.max_steps", "9", "--test_after_fit", "false", "--ckpt_path", last, cwd=cwd, env=local)
    resumed = [json.loads(p.read_text()) for p in root.glob("seqlit/*/results.json")]
    assert sorted(r["global_step"] for r in resumed) == [6, 9]
    assert next(r for r in resumed if r["global_step"] == 9)["ckpt_path"] == last
    assert {p.relative_to(cwd).parts[:2] for p in cwd.rglob("*") if p.is_file()} == {("runs", "wandb")}


def test_wandb_dir_names_where_wandb_files_go(tiny_corpus, tmp_path):
    cwd, root, wandb_dir = tmp_path / "cwd", tmp_path / "root", tmp_path / "wandb-local"
    cwd.mkdir()
    wandb_dir.mkdir()
    run_seqlit("fit", *FIT, "--data.init_args.path", str(tiny_corpus), "--trainer.default_root_dir", root.as_uri(),
               "--trainer.max_steps", "3", "--test_after_fit", "false", cwd=cwd, env={"WANDB_DIR": str(wandb_dir)})
    assert not list(cwd.rglob("*"))
    assert list(wandb_dir.glob("wandb/offline-run-*"))
    (ckpt,) = root.glob("seqlit/*/checkpoints/last.ckpt")
    assert torch.load(ckpt, weights_only=True)["global_step"] == 3
