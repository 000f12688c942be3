"""Dynamic batching for `python -m seqlit serve`: the texts of requests that arrive together, one forward pass.

Requests wait in an asyncio queue; one loop takes the first, then whatever else is queued or arrives within
`timeout_s` of it, up to `max_batch_size` texts (a request is never split across batches; one larger than the
limit goes alone and `predict_text` cuts it into passes of `max_batch_size`), and runs `predict_text` on all
their texts in one worker thread, so the event loop keeps accepting requests while the model computes. Under
load the queue fills while a batch runs, so the next batch is full without waiting; a batch waits for company
only while it is smaller than the last one (`next_batch`), so the timeout is paid when the load changes, not on
every batch. `stats` counts requests, texts and forward passes: /health shows them, which is how the tests see
that concurrent requests shared a pass.
"""

from __future__ import annotations

import asyncio
import math
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Callable


@dataclass
class Stats:
    requests: int = 0
    texts: int = 0
    batches: int = 0  # predict_text calls, one per batch of requests
    forward_passes: int = 0  # ceil(texts / max_batch_size) per batch
    largest_batch: int = 0  # texts

    def as_dict(self) -> dict[str, int]:
        return dict(self.__dict__)


@dataclass
class Pending:
    texts: list[str]
    done: asyncio.Future = field(repr=False)


class Batcher:
    """`await batcher.predict(texts)` is `predict(texts)`'s records, computed together with other requests' texts."""

    def __init__(self, predict: Callable[[list[str], int], list[dict]], max_batch_size: int, timeout_s: float):
        self.predict_fn, self.max_batch_size, self.timeout_s = predict, max_batch_size, timeout_s
        self.stats = Stats()
        self.queue: asyncio.Queue[Pending | None] = asyncio.Queue()  # None: stop here
        self.worker = ThreadPoolExecutor(max_workers=1, thread_name_prefix="seqlit-predict")
        self.task: asyncio.Task | None = None
        self.last_size = max_batch_size  # texts in the last batch; before the first, wait for a full one
        self.stopping = False

    def start(self) -> None:
        self.task = asyncio.get_running_loop().create_task(self.run())

    async def stop(self) -> None:
        """Answer every request already submitted (the batches they make), then stop the loop and the worker."""
        if self.task is not None and not self.stopping:
            self.stopping = True
            self.queue.put_nowait(None)  # after the last request: the loop ends when it reaches it
            await self.task
        self.worker.shutdown(wait=True)

    async def predict(self, texts: list[str]) -> list[dict]:
        if self.stopping:
            raise RuntimeError("the server is shutting down and takes no new requests")
        pending = Pending(texts, asyncio.get_running_loop().create_future())
        self.queue.put_nowait(pending)
        return await pending.done

    async def next_batch(self, carried: Pending | None) -> tuple[list[Pending], Pending | None]:
        """The requests of one batch (none once `stop` was reached), and the one that arrived but did not fit
        (it opens the next batch).

        Whatever is queued joins at once; the batch then waits (at most `timeout_s` from its first request) only
        while it is smaller than the one before: the clients of the last batch are the ones expected back. So 16
        clients make batches of 16 without waiting out the timeout, and one client is never kept waiting."""
        loop = asyncio.get_running_loop()
        first = carried if carried is not None else await self.queue.get()
        if first is None:
            return [], None
        batch, size, deadline = [first], len(first.texts), loop.time() + self.timeout_s
        expected = min(self.max_batch_size, self.last_size)
        while size < self.max_batch_size:
            left = deadline - loop.time()
            try:
                item = self.queue.get_nowait() if left <= 0 or size >= expected else \
                    await asyncio.wait_for(self.queue.get(), left)
            except (asyncio.QueueEmpty, asyncio.TimeoutError):
                break
            if item is None:
                self.queue.put_nowait(None)  # `stop` was called: this batch is the last but what is carried
                break
            if size + len(item.texts) > self.max_batch_size:
                return batch, item
            batch.append(item)
            size += len(item.texts)
        self.last_size = size
        return batch, None

    async def run(self) -> None:
        loop, carried = asyncio.get_running_loop(), None
        while True:
            batch, carried = await self.next_batch(carried)
            if not batch:
                return
            texts = [text for item in batch for text in item.texts]
            try:
                records = await loop.run_in_executor(self.worker, self.predict_fn, texts, self.max_batch_size)
            except Exception as err:  # the model failed: each waiting request gets the error (a 500), the loop goes on
                for item in batch:
                    if not item.done.done():
                        item.done.set_exception(err)
                continue
            self.count(len(batch), len(texts))
            first = 0
            for item in batch:
                mine = records[first: first + len(item.texts)]
                for i, record in enumerate(mine):
                    record["index"] = i  # the position in the request, as predict_text(request texts) numbers it
                first += len(item.texts)
                if not item.done.done():  # a client that went away leaves a cancelled future
                    item.done.set_result(mine)

    def count(self, requests: int, texts: int) -> None:
        s = self.stats
        s.requests += requests
        s.texts += texts
        s.batches += 1
        s.forward_passes += math.ceil(texts / self.max_batch_size)
        s.largest_batch = max(s.largest_batch, texts)
