"""A results.jsonl cut mid-line by a killed benchmark: the next `benchmark --out` refuses it before training."""

from __future__ import annotations

from tests.conftest import REPO, run_seqlit

BASELINE = REPO / "results" / "tiny" / "results.jsonl"


def test_a_cut_results_file_is_one_line_exit_2_and_left_unchanged(tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    whole = BASELINE.read_text().splitlines(keepends=True)[0]
    cut = (whole + whole[: len(whole) // 2]).encode()  # what SIGKILL in the middle of an append leaves
    (out / "results.jsonl").write_bytes(cut)
    proc = run_seqlit("benchmark", "--suite", "configs/benchmarks/tiny.yaml", "--out", str(out), "--wandb", "false",
                      cwd=REPO, check=False)
    assert proc.returncode == 2, proc.stdout[-2000:] + proc.stderr[-2000:]
    (line,) = proc.stderr.splitlines()
    assert line.startswith(f"seqlit: error: {out / 'results.jsonl'}:2: not a JSON object") and "--out" in line
    assert "delete or repair that line" in line
    assert (out / "results.jsonl").read_bytes() == cut
    assert sorted(p.name for p in out.iterdir()) == ["results.jsonl"]  # no run folder, no leaderboard
