"""The local backend: a pool of worker processes on this machine (``--workers N``; 0 = inline).

Items go out in small chunks (a path, or one X9 front's bytes, each) and come back one list per
chunk, so the hand-off costs one round trip per chunk, not per item. A worker that dies (a crash
in an image decoder, out of memory) takes the pool with it: every item then in flight is a
suspect, and each runs alone in a fresh pool, so only an item that kills a worker again gets
that error.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, Executor, Future, wait
from concurrent.futures.process import BrokenProcessPool

from .backend import BatchDriver
from .common import StopRequested
from .sources import BatchItem
from .worker import Prepared, WorkerSetup, make_pool, prepare_chunk, prepare_item

Job = list[tuple[BatchItem, str]]  # a chunk's items and their customers
CHUNK_ITEMS = 4  # per round trip; small, so a stop or a crash costs little and progress stays smooth


class LocalPoolBackend:
    def __init__(self, workers: int, setup: WorkerSetup, prepare: Callable[..., Prepared] = prepare_item,
                 max_in_flight: int | None = None) -> None:
        self.workers = workers
        self.setup = setup
        self.prepare = prepare  # module-level (picklable for spawn); tests swap in one that crashes
        self.chunk = CHUNK_ITEMS if workers > 0 else 1
        self.limit = max_in_flight or max(8, 4 * max(1, workers))  # items between source and store
        self.pool: Executor = make_pool(workers, setup)

    def close(self) -> None:
        # workers ignore SIGINT and finish their chunk; queued chunks are dropped (redone on resume)
        self.pool.shutdown(wait=True, cancel_futures=True)

    def run(self, driver: BatchDriver, done: set[str]) -> None:
        pending: dict[Future, Job] = {}
        job: Job = []
        for item, customer in driver.work(done):
            job.append((item, customer))
            if len(job) >= self.chunk:
                self._submit(pending, job)
                job = []
            while sum(len(j) for j in pending.values()) >= self.limit:
                self._collect(driver, pending, wait_for_one=True)
            self._collect(driver, pending, wait_for_one=False)
        if job:
            self._submit(pending, job)
        while pending:
            if driver.should_stop():
                raise StopRequested
            self._collect(driver, pending, wait_for_one=True)

    def _submit(self, pending: dict[Future, Job], job: Job) -> None:
        pending[self.pool.submit(prepare_chunk, [item for item, _ in job], self.prepare)] = job

    def _collect(self, driver: BatchDriver, pending: dict[Future, Job], wait_for_one: bool) -> None:
        if wait_for_one:
            mark = time.perf_counter()
            finished, _ = wait(pending, return_when=FIRST_COMPLETED)
            driver.count_wait(time.perf_counter() - mark)
        else:
            finished = {future for future in pending if future.done()}
        for future in finished:
            job = pending.pop(future)
            try:
                answers = future.result()
            except BrokenProcessPool:
                suspects = [*job, *(pair for other in pending.values() for pair in other)]
                pending.clear()
                self._recover(driver, suspects)
                return
            for (item, customer), prepared in zip(job, answers, strict=True):
                driver.take(item, customer, prepared)

    def _recover(self, driver: BatchDriver, suspects: Job) -> None:
        self.close()
        self.pool = make_pool(self.workers, self.setup)
        for item, customer in suspects:
            try:
                [prepared] = self.pool.submit(prepare_chunk, [item], self.prepare).result()
            except BrokenProcessPool:
                driver.fail(item, customer, "the worker process died on this item (a crash in the image "
                                            "decoder, or out of memory)")
                self.close()
                self.pool = make_pool(self.workers, self.setup)
                continue
            driver.take(item, customer, prepared)
