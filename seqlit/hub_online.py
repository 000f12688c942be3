"""Whether the Hugging Face hub can be reached, asked once before a hub dataset is loaded.

Offline without HF_DATASETS_OFFLINE=1, `datasets` asked the hub anyway, and huggingface_hub retried each
request five times with growing waits: ten warning lines over 25-30 s before the one-line error. One TCP
probe (seqlit.wandb_online's, a few seconds at most) decides instead: when it fails, `datasets` is asked in
its offline mode, so a cached dataset still loads and anything else fails at once. Behind a proxy the probe
would ask the wrong host, so the hub is then asked as before.
"""

from __future__ import annotations

import contextlib
import os
from unittest import mock

from seqlit.wandb_online import PROXIES, unreachable


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
