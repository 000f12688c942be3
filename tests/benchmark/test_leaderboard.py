"""The leaderboard: tasks x backbones with the best of each row in bold, seeds as mean ± sd, targets, and a chart."""

from __future__ import annotations

from matplotlib.container import ErrorbarContainer
from matplotlib.figure import Figure
import pytest

from seqlit.benchmark import leaderboard
from seqlit.benchmark.seeds import summarize


def row(name, task, backbone, dataset, metrics, status="ok", tokens=1000.0, **extra):
    return {"name": name, "task": task, "backbone": backbone, "dataset": dataset, "metrics": metrics,
            "tokens_per_s": tokens, "wall_s": 12.3, "peak_mem_mb": 456.0, "params": 1_234_567, "device": "cpu: 1 threads",
            "commit": "abc123", "dirty": False, "date": "2026-11-27T00:00:00+00:00", "status": status, **extra}


TARGET = {"metric": "val/acc", "value": 0.845}
RUNS = [
    [row("sst2-bigru", "Classifier", "bigru", "sst2", {"test/acc": acc, "test/f1_macro": 0.84}, seed=seed,
         target=TARGET, time_to_target_s=t, steps_to_target=None if t is None else 100 * seed + 100)
     for seed, acc, t in [(0, 0.84, 120.0), (1, 0.86, 100.0), (2, 0.85, None)]],
    [row("sst2-bilstm", "Classifier", "bilstm", "sst2", {"test/acc": 0.83}, target=TARGET, time_to_target_s=None,
         steps_to_target=None, host="Test CPU, 2 cores")],
    [row("pydoc-char-gru", "LanguageModel", "gru", "pydoc_topics", {"test/bpc": 4.5, "test/ppl": 22.6},
         target={"metric": "val/bpc", "value": 4.6}, time_to_target_s=5.5, steps_to_target=30)],
    [row("pydoc-char-lstm", "LanguageModel", "lstm", "pydoc_topics", {"test/bpc": 4.2, "test/ppl": 18.4}, dirty=True)],
    [{k: v for k, v in row("pydoc-char-rnn", "LanguageModel", "rnn", "pydoc_topics", {"test/bpc": 4.8},
                           commit="40493538f8dc-dirty").items() if k != "dirty"}],  # recorded before the flag
    [row("conll2003-bilstm-crf", "Tagger", "bilstm-crf", "conll2003", {}, status="failed (exit 1)", tokens=None)],
]
ROWS = [summarize(run) for run in RUNS]


def test_table_by_task_and_backbone():
    table = leaderboard.table_by_backbone(ROWS)
    header, _, *lines = table.splitlines()
    assert header == "| task · dataset (metric) | bigru | bilstm | gru | lstm | rnn |"
    sst2 = next(line for line in lines if "sst2" in line)
    assert "(acc ↑)" in sst2 and "**0.85 ± 0.01**" in sst2 and "| 0.83 |" in sst2  # the mean of three seeds wins
    lm = next(line for line in lines if "pydoc_topics" in line)
    assert "(bpc ↓)" in lm and "**4.2**" in lm and "| 4.5 |" in lm and "| 4.8 |" in lm  # lower bpc wins
    assert not any("conll2003" in line for line in lines)  # failed runs have no score


def test_markdown_shows_spread_time_to_target_and_provenance(tmp_path):
    path = leaderboard.write(ROWS, str(tmp_path), "demo")
    text = open(path, encoding="utf-8").read()
    assert text.startswith("# Benchmark leaderboard: demo") and "![leaderboard](leaderboard.png)" in text
    assert "Failed: conll2003-bilstm-crf" in text
    assert "uncommitted changes (not reproducible from the commit): pydoc-char-lstm, pydoc-char-rnn" in text
    bigru = next(line for line in text.splitlines() if line.startswith("| sst2-bigru |"))
    assert "| 0,1,2 | acc 0.85 ± 0.01 (0.84–0.86, n=3), f1_macro 0.84 ± 0 (0.84–0.84, n=3) |" in bigru
    assert "| val/acc ≥ 0.845: 110.0 ± 14.14 s (2 of 3 seeds) |" in bigru
    assert "| val/acc ≥ 0.845: not reached |" in next(line for line in text.splitlines() if line.startswith("| sst2-bilstm |"))
    assert "| val/bpc ≤ 4.6: 5.5 s (step 30) |" in next(line for line in text.splitlines()
                                                        if line.startswith("| pydoc-char-gru |"))
    assert "hosts: Test CPU, 2 cores;" in text  # only the records that name one
    assert "| cpu: 1 threads (Test CPU, 2 cores) |" in next(line for line in text.splitlines()
                                                          if line.startswith("| sst2-bilstm |"))
    assert "| abc123 (dirty) |" in next(line for line in text.splitlines() if line.startswith("| pydoc-char-lstm |"))
    png = (tmp_path / "leaderboard.png").read_bytes()
    assert png.startswith(b"\x89PNG") and len(png) > 5000


def kept_figures(monkeypatch) -> list[Figure]:
    """The figures the chart saves, kept to look at."""
    figures, save = [], Figure.savefig

    def keep(fig, *args, **kwargs):
        figures.append(fig)
        return save(fig, *args, **kwargs)

    monkeypatch.setattr(Figure, "savefig", keep)
    return figures


def test_chart_has_targets_error_bars_linear_throughput_and_a_legend(tmp_path, monkeypatch):
    figures = kept_figures(monkeypatch)
    leaderboard.chart(ROWS, str(tmp_path / "chart.png"), "demo")
    axes = figures[0].axes
    titles = [ax.get_title(loc="left") for ax in axes]
    assert titles == ["Classifier · sst2: acc ↑", "LanguageModel · pydoc_topics: bpc ↓", "training tokens/s"]
    sst2, lm, speed = axes
    assert [t.get_text() for t in sst2.get_yticklabels()] == ["sst2-bigru", "sst2-bilstm"]  # named as in the table
    assert [t.get_text() for t in lm.get_yticklabels()] == ["pydoc-char-gru", "pydoc-char-lstm", "pydoc-char-rnn"]
    assert [line.get_xdata()[0] for line in sst2.get_lines() if line.get_linestyle() == "--"] == [0.845]
    assert [line.get_xdata()[0] for line in lm.get_lines() if line.get_linestyle() == "--"] == [4.6]
    assert any(isinstance(c, ErrorbarContainer) for c in sst2.containers)  # ± sd over the three seeds
    assert not any(isinstance(c, ErrorbarContainer) for c in lm.containers)  # one seed each: no spread to draw
    assert speed.get_xscale() == "linear" and speed.get_xlim()[0] == 0 and lm.get_xlim()[0] == 0
    legend = [t.get_text() for t in figures[0].legends[0].get_texts()]
    assert legend == ["best of its panel", "other entries", "training tokens/s", "± sd over seeds", "quality target"]
    colours = {tuple(round(c, 3) for c in p.get_facecolor()) for ax in axes for p in ax.patches}
    assert len(colours) == 3  # best, other, throughput: each named in the legend


def test_the_legend_names_only_what_is_drawn(tmp_path, monkeypatch):
    figures = kept_figures(monkeypatch)
    leaderboard.chart([summarize(RUNS[3])], str(tmp_path / "chart.png"), "demo")  # one entry, one seed, no target
    assert [t.get_text() for t in figures[0].legends[0].get_texts()] == ["best of its panel", "training tokens/s"]


@pytest.mark.parametrize("rows", [[], [summarize(RUNS[-1])]])
def test_no_chart_without_scores(tmp_path, rows):
    leaderboard.chart(rows, str(tmp_path / "chart.png"), "demo")
    assert not (tmp_path / "chart.png").exists()
