"""Whether the Hugging Face hub can be reached, asked once before a hub dataset is loaded.

One TCP probe decides; when it fails `datasets` is asked in its offline mode, so a cached dataset still loads
and anything else fails at once instead of after ~30 s of retries. Behind a proxy the hub is asked as before.
"""

from __future__ import annotations

import contextlib
import os
from unittest import mock

from seqlit.run.wandb_online import PROXIES, unreachable


def hub_unreachable() -> str | None:
    """Why the hub takes no connection (host, port and error), or None: reachable, offline mode, or a proxy."""
    if os.environ.get("HF_DATASETS_OFFLINE") == "1" or os.environ.get("HF_HUB_OFFLINE") == "1":
        return None  # datasets answers at once itself
    if any(os.environ.get(name) for name in PROXIES):
        return None
    from huggingface_hub import constants

    return unreachable(constants.ENDPOINT)


@contextlib.contextmanager
def offline_mode(offline: bool):
    """`datasets` and huggingface_hub in their offline mode meanwhile, as HF_HUB_OFFLINE=1 sets at import."""
    if not offline:
        yield
        return
    import datasets.config
    from huggingface_hub import constants

    with mock.patch.object(datasets.config, "HF_HUB_OFFLINE", True), mock.patch.object(constants, "HF_HUB_OFFLINE", True):
        yield
