"""BatchRunner: source -> customer -> worker processes -> embedding -> store, with resume and stop.

At most ``max_in_flight`` items are between the source and the store. A per-item failure becomes
a row with its reason and the batch goes on. Results are written one flush (``batch_size`` items)
per transaction, so stopping (Ctrl-C, or ``should_stop`` from the GUI) leaves only whole flushes
and ``resume`` continues without redoing or duplicating an item.
"""

from __future__ import annotations

import importlib.util
import time
from collections import Counter
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, Executor, Future, wait
from concurrent.futures.process import BrokenProcessPool

from sqlalchemy import Connection

from ..normalize import NormalizationParams
from ..pipeline import Thresholds
from ..verify import Verifier
from . import ray_backend
from .common import (
    STAGES,
    WORKER_STAGES,
    BatchError,
    BatchOptions,
    BatchProgress,
    BatchSummary,
    ItemResult,
    StopRequested,
)
from .mapping import CustomerResolver
from .runs import finish_run, source_id, start_run, write_items
from .scoring import Ready, References, item_details, score_ready
from .sources import BatchItem, open_source
from .worker import InlineExecutor, Prepared, make_pool, prepare_item


def _require_verify_permission(verifier) -> str | None:
    """Behind the security guard, batch needs the verify permission; returns the user's name."""
    user = getattr(verifier, "user", None)
    if user is None:
        return None  # a bare Verifier (tests, tools): the caller is trusted
    from ..security import Permission, require  # the guard's own check, not a copy of its rules

    require(user, Permission.VERIFY)
    return user.username


class BatchRunner:
    """One batch run; ``run()`` does the work. The CLI and the GUI drive this same class.

    ``_customer_or_fail`` and ``_take`` are shared with ray_backend's loop, so both backends skip,
    fail, score and write items the same way.
    """

    def __init__(
        self,
        verifier: Verifier,
        options: BatchOptions,
        *,
        on_progress: Callable[[BatchProgress], None] | None = None,
        on_result: Callable[[ItemResult], None] | None = None,
        should_stop: Callable[[], bool] | None = None,
        prepare: Callable[..., Prepared] = prepare_item,
    ) -> None:
        self.verifier = verifier
        self.prepare = prepare  # module-level (picklable for spawn); tests swap in one that crashes
        self.store = verifier.store
        self.options = options
        self.on_progress = on_progress
        self.on_result = on_result
        self.should_stop = should_stop or (lambda: False)
        self.user = _require_verify_permission(verifier) or options.user
        if options.ray_address and importlib.util.find_spec("ray") is None:
            raise BatchError("--ray needs Ray: install the 'cluster' extra (pip install 'sigverify[cluster]')")
        self.source = open_source(options.source)
        if self.source.kind == "folder" and not (options.manifest or options.pattern):
            # refused before the run: otherwise every item would end as "no customer for this item"
            raise BatchError(f"{options.source} is a folder: say whose each file is, with a manifest "
                             "(--manifest) or a file-name pattern (--pattern); only X9 files carry account numbers")
        self.resolver = CustomerResolver(self.store, options.manifest, options.pattern)
        self.references = References(self.store)
        self.thresholds: Thresholds = verifier.thresholds()
        self.stage_seconds = dict.fromkeys(STAGES, 0.0)
        self.waiting = 0.0
        self.worker_cpu = 0.0
        self.ready: list[Ready] = []  # prepared, waiting for the next embedding
        self.failed: list[ItemResult] = []  # errors, written with the next batch
        self.processed = self.errors = 0
        self.decisions: Counter[str] = Counter()

    # -- public --------------------------------------------------------------------------
    def run(self) -> BatchSummary:
        started = time.perf_counter()
        self.run_id, done, done_errors = start_run(self.store, self.options, self.user)
        self.total = self.source.count()
        self._audit("batch_start", {"run_id": self.run_id, "source": source_id(self.options.source),
                                    "resumed_items": len(done), **self.options.to_dict()})
        self.skipped, self.errors_before = len(done), done_errors
        self.started = started
        if self.on_progress is not None:  # the total (and a resumed run's head start) before any work
            self.on_progress(BatchProgress(self.run_id, self.total, self.skipped, self.errors_before, 0.0))
        status, interrupted = "finished", False
        # on Ray the cluster does the preparing; the inline executor only keeps shutdown symmetric
        self.pool = InlineExecutor(NormalizationParams()) if self.options.ray_address else self._new_pool()
        try:
            if self.options.ray_address:
                ray_backend.ray_loop(self, done)
            else:
                self._loop(done)
            self._flush(final=True)
        except (KeyboardInterrupt, StopRequested):
            status, interrupted = "interrupted", True
        except BaseException:
            finish_run(self.store, self.run_id, "failed")
            raise
        finally:
            # workers ignore SIGINT and finish their one item; queued items are dropped (redone on resume)
            self.pool.shutdown(wait=True, cancel_futures=True)
        finish_run(self.store, self.run_id, status)
        summary = self._summary(time.perf_counter() - started, interrupted)
        self._audit("batch_finish", {"run_id": self.run_id, "status": status, "processed": summary.processed,
                                     "errors": summary.errors, "decisions": summary.decisions,
                                     "model_version": summary.model})
        return summary

    def _audit(self, action: str, details: dict) -> None:
        """One chained audit record at the batch's start and one at its end (each flush has its own)."""
        audit = getattr(self.verifier, "audit", None)
        if audit is not None:
            self.store.run(lambda conn: audit(conn, self.user, action, details))

    def _flush_audit(self) -> Callable[[Connection, list[dict]], None] | None:
        """The audit hook for one flush: every verification is audited (who, what bytes, which
        result, which model), and one record per flush rather than per item keeps a night's batch
        from adding a hundred thousand links to the chain. None for a bare Verifier (no trail)."""
        audit = getattr(self.verifier, "audit", None)
        if audit is None:
            return None
        header = {"run_id": self.run_id, "model_version": self.verifier.model_version,
                  "providers": list(self.verifier.engine.providers), "thresholds": self.thresholds.to_dict()}
        return lambda conn, entries: audit(conn, self.user, "batch_verify", {**header, "items": entries})

    # -- the loop ------------------------------------------------------------------------
    def _new_pool(self) -> Executor:
        return make_pool(self.options.workers, self.verifier.engine.metadata.normalization)

    def _loop(self, done: set[str]) -> None:
        limit = self.options.max_in_flight or max(8, 4 * max(1, self.options.workers))
        pending: dict[Future, tuple[BatchItem, str]] = {}
        mark = time.perf_counter()
        for item in self.source.items():
            if self.should_stop():
                raise StopRequested
            if item.key in done:
                continue
            done.add(item.key)  # a file yielded twice (X9 duplicates) is still one row
            customer = self._customer_or_fail(item)
            self.stage_seconds["read"] += time.perf_counter() - mark
            if customer is not None:
                while len(pending) >= limit:
                    self._collect(pending, wait_for_one=True)
                pending[self.pool.submit(self.prepare, item)] = (item, customer)
                self._collect(pending, wait_for_one=False)
            mark = time.perf_counter()
        while pending:
            if self.should_stop():
                raise StopRequested
            self._collect(pending, wait_for_one=True)

    def _customer_or_fail(self, item: BatchItem) -> str | None:
        """The item's customer, or None after recording why it cannot be verified."""
        if item.error:
            self._fail(item, None, item.error)
            return None
        customer, how = self.resolver.resolve(item)
        if customer is None:
            self._fail(item, None, how)
            return None
        refs = self.references.get(customer)
        if isinstance(refs, str):  # unknown customer or no references: no need to decode anything
            self._fail(item, customer, refs)
            return None
        return customer

    def _collect(self, pending: dict[Future, tuple[BatchItem, str]], wait_for_one: bool) -> None:
        if wait_for_one:
            mark = time.perf_counter()
            finished, _ = wait(pending, return_when=FIRST_COMPLETED)
            self.waiting += time.perf_counter() - mark
        else:
            finished = {future for future in pending if future.done()}
        for future in finished:
            item, customer = pending.pop(future)
            try:
                prepared = future.result()
            except BrokenProcessPool:
                suspects = [(item, customer), *pending.values()]
                pending.clear()
                self._recover(suspects)
                return
            self._take(item, customer, prepared)

    def _recover(self, suspects: list[tuple[BatchItem, str]]) -> None:
        """A worker died and took the pool with it. Every item then in flight is a suspect: each
        runs alone in a fresh pool, so only an item that kills a worker again gets the error."""
        self.pool.shutdown(wait=True, cancel_futures=True)
        self.pool = self._new_pool()
        for item, customer in suspects:
            try:
                prepared = self.pool.submit(self.prepare, item).result()
            except BrokenProcessPool:
                self._fail(item, customer, "the worker process died on this item (a crash in the image "
                                           "decoder, or out of memory)")
                self.pool.shutdown(wait=True, cancel_futures=True)
                self.pool = self._new_pool()
                continue
            self._take(item, customer, prepared)

    def _take(self, item: BatchItem, customer: str, prepared: Prepared) -> None:
        """A worker's answer: into the next embedding batch, or an error row."""
        for stage in WORKER_STAGES:
            self.stage_seconds[stage] += prepared.timings.get(stage, 0.0)
        self.worker_cpu += prepared.timings.get("cpu", 0.0)
        if prepared.error:
            self._fail(item, customer, prepared.error, prepared)
        else:
            self.ready.append((item, customer, prepared))
        if len(self.ready) >= self.options.batch_size or len(self.failed) >= self.options.batch_size:
            self._flush()

    def _fail(self, item: BatchItem, customer: str | None, reason: str, prepared: Prepared | None = None) -> None:
        # a worker's failure keeps the hash of the bytes it read: the audit record names them
        self.failed.append(ItemResult(item.key, item.label, customer, None, None, None, None, reason,
                                      item_details(item, prepared)))

    # -- embedding, scoring, writing ------------------------------------------------------
    def _flush(self, final: bool = False) -> None:
        mark = time.perf_counter()
        results = score_ready(self.ready, self.references, self.thresholds, self.verifier.engine,
                              self.verifier.model_version)
        if self.ready:
            self.stage_seconds["inference"] += time.perf_counter() - mark
        crops = {item.key: prepared.crop_png for item, _, prepared in self.ready}
        rows = results + self.failed
        if rows:
            mark = time.perf_counter()
            write_items(self.store, self.run_id, rows, crops, self._flush_audit())
            self.stage_seconds["database"] += time.perf_counter() - mark
        self.ready, self.failed = [], []
        self.processed += len(rows)
        for row in rows:
            if row.error:
                self.errors += 1
            else:
                self.decisions[row.decision or ""] += 1
            if self.on_result is not None:
                self.on_result(row)
        if self.on_progress is not None and (rows or final):
            self.on_progress(BatchProgress(self.run_id, self.total, self.skipped + self.processed,
                                           self.errors_before + self.errors,
                                           time.perf_counter() - self.started))

    def _summary(self, elapsed: float, interrupted: bool) -> BatchSummary:
        engine = self.verifier.engine
        return BatchSummary(
            run_id=self.run_id, source=source_id(self.options.source), kind=self.source.kind, total=self.total,
            processed=self.processed, skipped=self.skipped, errors=self.errors_before + self.errors,
            decisions=dict(self.decisions), elapsed=elapsed, stage_seconds=dict(self.stage_seconds),
            waiting_seconds=self.waiting, worker_cpu_seconds=self.worker_cpu, workers=self.options.workers,
            providers=list(engine.providers),
            model=engine.metadata.version, thresholds=self.thresholds.to_dict(), interrupted=interrupted,
        )


def run_batch(verifier: Verifier, options: BatchOptions, **callbacks) -> BatchSummary:
    """Run (or resume) one batch; see ``BatchRunner`` for the callbacks."""
    return BatchRunner(verifier, options, **callbacks).run()
