"""Mixed precision with the configs' gradient clipping: the documented GPU/cluster precision must train.

Lightning's mixed-precision plugin refuses to clip gradients for an optimizer that unscales them inside
its own step (a fused AdamW), so the default optimizer switches to the multi-tensor step under it.
"""

from __future__ import annotations

import yaml

from tests.conftest import REPO, run_seqlit


def test_quickstart_trains_with_gpu_bf16_config_and_clipping(tmp_path):
    clip = yaml.safe_load((REPO / "configs/quickstart.yaml").read_text())["trainer"].get("gradient_clip_val")
    assert clip, "the quickstart config is expected to clip gradients, or this test proves nothing"
    proc = run_seqlit("fit", "--config", str(REPO / "configs/quickstart.yaml"),
                      "--config", str(REPO / "configs/cluster/gpu_bf16.yaml"),
                      "--trainer.accelerator", "cpu", "--trainer.max_steps", "3", "--trainer.logger", "false",
                      "--trainer.limit_val_batches", "2", cwd=tmp_path)
    assert "does not allow for gradient clipping" not in proc.stderr
    assert list(tmp_path.rglob("*.ckpt")), "no checkpoint was written"
