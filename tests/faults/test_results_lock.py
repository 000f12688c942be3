"""Two processes adding evaluations to one results.json: every update is recorded (none lost to a race)."""

import json
import multiprocessing

from seqlit.callbacks.run_results import append_evaluation

UPDATES = 100  # per process


def _add(path: str, who: int, start) -> None:
    start.wait()  # both write at once: the race the lock prevents
    for i in range(UPDATES):
        append_evaluation(path, {"who": who, "i": i}, "test")


def test_two_processes_lose_no_update(tmp_path):
    path = str(tmp_path / "results.json")
    context = multiprocessing.get_context("spawn")
    start = context.Barrier(2)
    workers = [context.Process(target=_add, args=(path, who, start)) for who in (0, 1)]
    for w in workers:
        w.start()
    for w in workers:
        w.join(timeout=120)
        assert w.exitcode == 0
    with open(path, encoding="utf-8") as f:
        evaluations = json.load(f)["evaluations"]
    assert len(evaluations) == 2 * UPDATES
    assert sorted((e["who"], e["i"]) for e in evaluations) == [(w, i) for w in (0, 1) for i in range(UPDATES)]
