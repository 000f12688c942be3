"""The model card (README.md) of an exported folder, from the run's results.json when one lies beside it.

A folder shared without a word on what it was trained on, how well it did and on which split, is a
folder nobody can judge; the run already recorded all of it, so the card only lays it out.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any


def results_beside(ckpt_path: str) -> dict[str, Any] | None:
    """The run's results.json: beside the checkpoint or one folder up (runs/X/checkpoints/last.ckpt), else None."""
    here = Path(ckpt_path).resolve().parent
    for folder in (here, here.parent):
        path = folder / "results.json"
        if path.is_file():
            try:
                data = json.loads(path.read_text(encoding="utf-8"))
            except (OSError, ValueError):
                return None
            return data if isinstance(data, dict) else None
    return None


def model_card(config: dict[str, Any], results: dict[str, Any] | None, ckpt_path: str) -> str:
    task = config["task"]["class_path"].rpartition(".")[2]
    data = config["data"]
    source = data["init_args"].get("path") or data["class_path"].rpartition(".")[2]
    lines = ["---", "library_name: seqlit", "tags: [seqlit, rnn]", "---", "", f"# {task} ({source})", "",
             f"A seqlit `{task}` exported from `{Path(ckpt_path).name}`. Load it with "
             f"`seqlit.tasks.{task}.from_pretrained(DIR)` or `seqlit.deploy.load(DIR)`.", "",
             "## Data", "", f"- data module: `{data['class_path']}`", f"- source: `{source}`", ""]
    lines += ["## Metrics", ""]
    metrics = _metrics(results)
    lines += [f"- {split} `{name}`: {value:.6g}" for split, name, value in metrics] or \
        ["No results.json was found beside the checkpoint: no metrics recorded."]
    lines += ["", "## Training", ""]
    command, commit = (results or {}).get("command"), (results or {}).get("commit")
    tested = (results or {}).get("tested")
    lines += [f"- command: `{' '.join(map(str, command)) if isinstance(command, list) else command}`" if command
              else "- command: not recorded in results.json (see the run's config.yaml)",
              f"- commit: `{commit}`" + (" (with uncommitted changes)" if (results or {}).get("dirty") else "")
              if commit else "- commit: not recorded in results.json",
              f"- test metrics scored on: `{tested}`" if tested else "- test metrics: none recorded"]
    lines += ["", "## Intended use and limits", "",
              f"Research and teaching use of a small recurrent `{task}` on data like `{source}`. "
              "It knows only its vocabulary (other words are `<unk>`), was judged only on the split named above, "
              "and has not been checked for bias or for use on other domains or languages."]
    return "\n".join(lines) + "\n"


def _metrics(results: dict[str, Any] | None) -> list[tuple[str, str, float]]:
    """(split, metric, value) of the final metrics results.json records under `split/metric` names."""
    metrics = (results or {}).get("metrics")
    if not isinstance(metrics, dict):
        return []
    return [(key.partition("/")[0], key.partition("/")[2], float(value)) for key, value in sorted(metrics.items())
            if isinstance(value, (int, float)) and not isinstance(value, bool)
            and key.partition("/")[0] in ("train", "val", "test")]
