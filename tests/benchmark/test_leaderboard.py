"""The leaderboard: tasks x backbones with the best of each row in bold (by the metric's direction), and a PNG."""

from __future__ import annotations

from seqlit.benchmark import leaderboard


def row(name, task, backbone, dataset, metrics, status="ok", tokens=1000.0):
    return {"name": name, "task": task, "backbone": backbone, "dataset": dataset, "metrics": metrics,
            "tokens_per_s": tokens, "wall_s": 12.3, "peak_mem_mb": 456.0, "params": 1_234_567, "device": "cpu: 1 threads",
            "commit": "abc123", "date": "2026-11-27T00:00:00+00:00", "status": status}


ROWS = [
    row("sst2-bigru", "classification", "bigru", "sst2", {"test/acc": 0.85, "test/f1_macro": 0.84}),
    row("sst2-bilstm", "classification", "bilstm", "sst2", {"test/acc": 0.83}),
    row("pydoc-char-gru", "language_modeling", "gru", "pydoc_topics", {"test/bpc": 4.5, "test/ppl": 22.6}),
    row("pydoc-char-lstm", "language_modeling", "lstm", "pydoc_topics", {"test/bpc": 4.2, "test/ppl": 18.4}),
    row("conll2003-bilstm-crf", "tagging", "bilstm-crf", "conll2003", {}, status="failed (exit 1)", tokens=None),
]


def test_table_by_task_and_backbone():
    table = leaderboard.table_by_backbone(ROWS)
    header, _, *lines = table.splitlines()
    assert header == "| task · dataset (metric) | bigru | bilstm | gru | lstm |"
    sst2 = next(line for line in lines if "sst2" in line)
    assert "(acc ↑)" in sst2 and "**0.85**" in sst2 and "| 0.83 |" in sst2
    lm = next(line for line in lines if "pydoc_topics" in line)
    assert "(bpc ↓)" in lm and "**4.2**" in lm and "| 4.5 |" in lm  # lower bits per character wins
    assert not any("conll2003" in line for line in lines)  # failed runs have no score


def test_markdown_and_chart(tmp_path):
    path = leaderboard.write(ROWS, str(tmp_path), "demo")
    text = open(path, encoding="utf-8").read()
    assert text.startswith("# Benchmark leaderboard: demo") and "![leaderboard](leaderboard.png)" in text
    assert "Failed: conll2003-bilstm-crf" in text
    assert "| sst2-bigru | classification | bigru | sst2 | acc 0.85, f1_macro 0.84 | 1,000 | 12.3 | 456.0 | 1.23M |" in text
    png = (tmp_path / "leaderboard.png").read_bytes()
    assert png.startswith(b"\x89PNG") and len(png) > 5000
