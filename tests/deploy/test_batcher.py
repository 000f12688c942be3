"""seqlit.deploy.batcher on its own, with a model that records its calls: concurrent requests share one call, each
caller gets its own records in order, a failing batch fails its callers only, the wait policy, and `stop` answers
what was submitted before it. asyncio.run with a timeout around every test, so nothing can hang."""

from __future__ import annotations

import asyncio
import threading
import time

import pytest

from seqlit.deploy.batcher import Batcher

TIMEOUT = 30  # seconds, for any one test's event loop


class Model:
    """predict_text's shape: records {"index", "text"} in order; fails on a text "boom"; `gate` can hold a call."""

    def __init__(self):
        self.calls: list[list[str]] = []
        self.gate = threading.Event()
        self.gate.set()

    def __call__(self, texts: list[str], batch_size: int) -> list[dict]:
        self.gate.wait(TIMEOUT)
        self.calls.append(list(texts))
        if "boom" in texts:
            raise ValueError("boom in the batch")
        return [{"index": i, "text": text, "upper": text.upper()} for i, text in enumerate(texts)]


def run(coroutine):
    return asyncio.run(asyncio.wait_for(coroutine, TIMEOUT))


async def started(model: Model, max_batch_size: int, timeout_s: float) -> Batcher:
    batcher = Batcher(model, max_batch_size, timeout_s)
    batcher.start()
    return batcher


def test_concurrent_requests_share_one_call_and_each_gets_its_records_in_order():
    model = Model()
    requests = [[f"r{r}t{t}" for t in range(1 + r % 3)] for r in range(6)]  # 12 texts

    async def main():
        batcher = await started(model, 12, 5.0)  # the first batch waits for a full one: 12 texts
        answers = await asyncio.gather(*(batcher.predict(texts) for texts in requests))
        await batcher.stop()
        return answers, batcher.stats

    answers, stats = run(main())
    assert model.calls == [[text for texts in requests for text in texts]]
    for texts, records in zip(requests, answers):
        assert [(r["index"], r["text"], r["upper"]) for r in records] == [(i, t, t.upper()) for i, t in enumerate(texts)]
    assert (stats.requests, stats.texts, stats.batches, stats.largest_batch) == (6, 12, 1, 12)


def test_a_request_that_does_not_fit_opens_the_next_batch():
    model = Model()

    async def main():
        batcher = await started(model, 4, 5.0)
        answers = await asyncio.gather(*(batcher.predict(texts) for texts in (["a", "b"], ["c"], ["d", "e"], ["f"])))
        await batcher.stop()
        return answers

    answers = run(main())
    assert model.calls == [["a", "b", "c"], ["d", "e", "f"]]  # never split, never more than 4 texts
    assert [[r["text"] for r in records] for records in answers] == [["a", "b"], ["c"], ["d", "e"], ["f"]]


def test_an_exception_reaches_the_callers_of_its_batch_and_not_the_others():
    model = Model()

    async def main():
        batcher = await started(model, 2, 0.2)
        results = await asyncio.gather(*(batcher.predict([t]) for t in ("ok1", "boom", "ok2", "ok3")),
                                       return_exceptions=True)
        after = await batcher.predict(["later"])  # the loop goes on after a failed batch
        await batcher.stop()
        return results, after

    results, after = run(main())
    assert model.calls == [["ok1", "boom"], ["ok2", "ok3"], ["later"]]
    assert [type(r) for r in results[:2]] == [ValueError, ValueError] and "boom" in str(results[0])
    assert [r[0]["text"] for r in results[2:]] == ["ok2", "ok3"] and after[0]["text"] == "later"


def test_a_batch_waits_only_while_it_is_smaller_than_the_last_one():
    model = Model()

    async def main():
        batcher = await started(model, 8, 0.5)
        loop = asyncio.get_running_loop()
        began = loop.time()
        await asyncio.gather(batcher.predict(["a"]), batcher.predict(["b"]))  # first batch: waits out the 0.5 s
        first = loop.time() - began
        began = loop.time()
        for text in ("c", "d", "e"):  # one client: the batch of 2 before makes the first of these wait once
            await batcher.predict([text])
        three = loop.time() - began
        await batcher.stop()
        return first, three

    first, three = run(main())
    assert model.calls == [["a", "b"], ["c"], ["d"], ["e"]]
    assert first >= 0.45 and 0.45 <= three < 0.5 * 2  # "c" waited for a second text; "d" and "e" did not


def test_stop_answers_every_request_submitted_before_it():
    model = Model()

    async def main():
        batcher = await started(model, 2, 0.01)
        model.gate.clear()  # the first call holds until the others are queued and stop is called
        tasks = [asyncio.ensure_future(batcher.predict([f"t{i}"])) for i in range(5)]
        await asyncio.sleep(0.2)
        stopping = asyncio.ensure_future(batcher.stop())
        await asyncio.sleep(0.1)
        with pytest.raises(RuntimeError, match="shutting down"):
            await batcher.predict(["too late"])
        threading.Timer(0.2, model.gate.set).start()
        began = time.monotonic()
        await stopping
        return [t.result() for t in tasks], time.monotonic() - began, batcher

    answers, took, batcher = run(main())
    assert [a[0]["text"] for a in answers] == [f"t{i}" for i in range(5)]
    assert [t for call in model.calls for t in call] == [f"t{i}" for i in range(5)]
    assert batcher.task.done() and took < TIMEOUT
