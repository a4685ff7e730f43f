"""BatchRunner: source -> customer -> worker processes -> embedding -> store, with resume and stop.

At most ``max_in_flight`` items are between the source and the store. A per-item failure becomes
a row with its reason and the batch goes on. Results are written one flush (``batch_size`` items)
per transaction, so stopping (Ctrl-C, or ``should_stop`` from the GUI) leaves only whole flushes
and ``resume`` continues without redoing or duplicating an item.
"""

from __future__ import annotations

import importlib.util
import os
import time
from collections import Counter
from collections.abc import Callable, Iterator

from sqlalchemy import Connection

from ..pipeline import Decision, Thresholds
from ..verify import Verifier
from .backend import BatchBackend
from .common import (
    STAGES,
    WORKER_STAGES,
    BatchError,
    BatchOptions,
    BatchProgress,
    BatchSummary,
    ItemResult,
    NoCustomerMapping,
    StopRequested,
)
from .local_backend import LocalPoolBackend
from .mapping import CustomerResolver
from .runs import finish_run, source_id, start_run, write_items
from .scoring import Ready, References, item_details, score_ready
from .sources import BatchItem, open_source
from .worker import Prepared, WorkerSetup, prepare_item


class BatchRunner:
    """One batch run; ``run()`` does the work. The CLI and the GUI drive this same class (through
    ``Session.batch``, which checks the user may verify and passes their name as ``user``).

    The runner walks the source, maps customers, scores and writes; a backend (local process pool,
    or Ray) prepares the items. It is the backends' ``BatchDriver``.
    """

    def __init__(
        self,
        verifier: Verifier,
        options: BatchOptions,
        *,
        user: str | None = None,
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
        self.user = user or options.user  # who the audit trail names
        if options.ray_address and importlib.util.find_spec("ray") is None:
            raise BatchError("Ray is not installed: the 'cluster' extra (sigverify[cluster]) runs batches on a cluster")
        self.source = open_source(options.source)
        if self.source.kind == "folder" and not (options.manifest or options.pattern):
            # refused before the run: otherwise every item would end as "no customer for this item"
            raise NoCustomerMapping(f"{options.source} is a folder: a manifest or a file-name pattern must say "
                                    "whose each file is (only X9 files carry account numbers)")
        self.resolver = CustomerResolver(self.store, options.manifest, options.pattern)
        self.references = References(self.store)
        self.thresholds: Thresholds = verifier.thresholds()
        self.stage_seconds = dict.fromkeys(STAGES, 0.0)
        self.waiting = 0.0
        self.worker_cpu = 0.0
        self.ready: list[Ready] = []  # prepared, waiting for the next scoring flush
        # rows without a score (errors, unsigned cheques), written with the next flush
        self.failed: list[ItemResult] = []
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
        backend = self._backend()
        try:
            backend.run(self, done)
            self._flush(final=True)
        except (KeyboardInterrupt, StopRequested):
            status, interrupted = "interrupted", True
        except BaseException:
            finish_run(self.store, self.run_id, "failed")
            raise
        finally:
            backend.close()
        finish_run(self.store, self.run_id, status)
        summary = self._summary(time.perf_counter() - started, interrupted)
        self._audit("batch_finish", {"run_id": self.run_id, "status": status, "processed": summary.processed,
                                     "errors": summary.errors, "decisions": summary.decisions,
                                     "model_version": summary.model})
        return summary

    def _backend(self) -> BatchBackend:
        engine = self.verifier.engine
        if self.options.ray_address:
            from .ray_backend import RayBackend  # Ray itself is imported only when a run asks for it

            return RayBackend(engine, self.options)
        # on a CPU each worker embeds its own items (the main process is left with scoring and the
        # database); with a GPU the main process embeds whole flushes in one call
        embed_in_workers = self.options.workers > 0 and engine.device_label == "CPU"
        threads = max(1, (os.cpu_count() or 1) // max(1, self.options.workers))
        setup = WorkerSetup(engine.metadata.normalization.to_dict(),
                            str(engine.path) if embed_in_workers else None, engine.check.sha256, threads)
        return LocalPoolBackend(self.options.workers, setup, self.prepare, self.options.max_in_flight)

    def _audit(self, action: str, details: dict) -> None:
        """One chained audit record at the batch's start and one at its end (each flush has its own)."""
        audit = self.verifier.audit
        if audit is not None:
            self.store.run(lambda conn: audit(conn, self.user, action, details))

    def _flush_audit(self) -> Callable[[Connection, list[dict]], None] | None:
        """The audit hook for one flush: every verification is audited (who, what bytes, which
        result, which model), and one record per flush rather than per item keeps a night's batch
        from adding a hundred thousand links to the chain. None for a Verifier without a trail."""
        audit = self.verifier.audit
        if audit is None:
            return None
        header = {"run_id": self.run_id, "model_version": self.verifier.model_version,
                  "providers": list(self.verifier.engine.providers), "thresholds": self.thresholds.to_dict()}
        return lambda conn, entries: audit(conn, self.user, "batch_verify", {**header, "items": entries})

    # -- the BatchDriver side: what the backends call ----------------------------------------
    def work(self, done: set[str]) -> Iterator[tuple[BatchItem, str]]:
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
                yield item, customer
            mark = time.perf_counter()

    def count_wait(self, seconds: float) -> None:
        self.waiting += seconds

    def _customer_or_fail(self, item: BatchItem) -> str | None:
        """The item's customer, or None after recording why it cannot be verified."""
        if item.error:
            self.fail(item, None, item.error)
            return None
        customer, how = self.resolver.resolve(item)
        if customer is None:
            self.fail(item, None, how)
            return None
        refs = self.references.get(customer)
        if isinstance(refs, str):  # unknown customer or no references: no need to decode anything
            self.fail(item, customer, refs)
            return None
        return customer

    def take(self, item: BatchItem, customer: str, prepared: Prepared) -> None:
        """A backend's answer: into the next scoring flush, or an error row."""
        for stage in (*WORKER_STAGES, "inference"):
            self.stage_seconds[stage] += prepared.timings.get(stage, 0.0)
        self.worker_cpu += prepared.timings.get("cpu", 0.0)
        if prepared.error:
            self.fail(item, customer, prepared.error, prepared)
        elif prepared.refer:
            self.refer(item, customer, prepared)
        else:
            self.ready.append((item, customer, prepared))
        if len(self.ready) >= self.options.batch_size or len(self.failed) >= self.options.batch_size:
            self._flush()

    def fail(self, item: BatchItem, customer: str | None, reason: str, prepared: Prepared | None = None) -> None:
        # a worker's failure keeps the hash of the bytes it read: the audit record names them
        self.failed.append(ItemResult(item.key, item.label, customer, None, None, None, None, reason,
                                      item_details(item, prepared)))

    def refer(self, item: BatchItem, customer: str, prepared: Prepared) -> None:
        """A "refer" row without a score (an unsigned cheque), written with the next flush."""
        details = {**item_details(item, prepared), "reason": prepared.refer}
        self.failed.append(ItemResult(item.key, item.label, customer, None, Decision.REFER.value, None, None, None,
                                      details))

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
    """Run (or resume) one batch with a bare Verifier (tools, tests); faces use ``Session.batch``."""
    return BatchRunner(verifier, options, **callbacks).run()
