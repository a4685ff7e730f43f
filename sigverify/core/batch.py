"""Batch verification: a folder or an X9.37 file through the same flow as one verification.

    source (folder walk / X9 reader, main process)
      -> customer mapping (manifest, file-name pattern, or X9 account -> store)
      -> worker processes: read, decode, find the signature, normalise   (CPU-bound, parallel)
      -> main process: embed in batches on the engine (GPU or CPU), score, decide
      -> store: one transaction per batch of results (batch_runs / batch_items)

Never all images in memory: the source yields items lazily and at most ``max_in_flight``
items are between the source and the store. A per-item failure becomes a row with its reason
and the batch goes on; a damaged X9 file becomes one error row after its good items.
Stopping (Ctrl-C, or ``should_stop`` from the GUI) leaves only whole batches in the store, so
``resume`` continues without redoing or duplicating an item.

Workers are started with ``spawn`` so the pool behaves the same on Linux, macOS and Windows,
and nothing of the parent (an onnxruntime session, a database connection) leaks into them.
"""

from __future__ import annotations

import base64
import csv
import hashlib
import html
import importlib.util
import json
import multiprocessing
import os
import re
import signal
import time
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import FIRST_COMPLETED, Executor, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np
from sqlalchemy import insert, select, update

from .extraction import find_signature
from .imaging import load_image, read_file_bytes
from .normalize import NormalizationParams, normalize_signature
from .store import Store, batch_items, batch_runs, now_iso
from .verify import Decision, Thresholds, Verifier, decide
from .x9 import X9Error, X9Item, count_x9_items, detect_encoding, read_x9, read_x9_item

IMAGE_SUFFIXES = frozenset(
    {".png", ".jpg", ".jpeg", ".tif", ".tiff", ".bmp", ".gif", ".webp", ".jp2", ".pbm", ".pgm", ".ppm"}
)
STAGES = ("read", "decode", "extraction", "normalisation", "inference", "database")
WORKER_STAGES = ("decode", "extraction", "normalisation")
THUMB_SIZE = (320, 120)  # max width, height of the crop thumbnail kept for the HTML report
# decision order for people: what needs a look first
REVIEW_ORDER = {Decision.NO_MATCH.value: 0, Decision.REFER.value: 1, None: 2, Decision.MATCH.value: 3}

Box = tuple[int, int, int, int]


class BatchError(ValueError):
    """The batch cannot start: bad source, manifest, pattern or run id (per-item problems are rows)."""


def default_workers() -> int:
    # one per core: the main process mostly waits for them (bench/bench_batch.py: embedding is ~5 ms
    # of a ~150 ms item on a CPU, less on a GPU; extraction is most of the rest)
    return max(1, os.cpu_count() or 1)


# --------------------------------------------------------------------------- items and sources


@dataclass(frozen=True)
class BatchItem:
    """One thing to verify, as a source yields it."""

    key: str  # unique within the run: relative path, or the X9 item key
    label: str  # what a person reads in the report
    path: str | None = None  # a file the worker reads itself (folders)
    data: bytes | None = field(default=None, repr=False)  # or the image bytes (X9 fronts)
    x9: dict | None = None  # routing, account, serial, amount_cents, sequence, on_us
    error: str | None = None  # the source already knows it is unusable (missing front, damaged file)


class FolderSource:
    """Every image file under a folder, recursively, in a stable (sorted) order."""

    kind = "folder"

    def __init__(self, root: Path) -> None:
        self.root = root
        # paths only: cheap even for a night's worth of scans, and gives the progress total
        self.files = sorted(
            path
            for path in root.rglob("*")
            if path.suffix.lower() in IMAGE_SUFFIXES and path.is_file() and not path.name.startswith(".")
        )

    def count(self) -> int:
        return len(self.files)

    def items(self) -> Iterator[BatchItem]:
        for path in self.files:
            key = path.relative_to(self.root).as_posix()
            yield BatchItem(key=key, label=key, path=str(path))


class X9Source:
    """The items of an X9.37 file; damage after good items becomes one error item."""

    kind = "x9"

    def __init__(self, path: Path) -> None:
        self.path = path
        self._count: int | None = None

    def count(self) -> int:
        if self._count is None:
            try:
                self._count = count_x9_items(self.path)
            except X9Error:
                self._count = sum(1 for _ in self._good_items()) + 1  # the good ones and the damage row
        return self._count

    def _good_items(self) -> Iterator[X9Item]:
        try:
            yield from read_x9(self.path, images=False)
        except X9Error:
            return

    def items(self) -> Iterator[BatchItem]:
        try:
            for item in read_x9(self.path):
                yield self._to_batch_item(item)
        except X9Error as err:
            yield BatchItem(
                key=f"damage@{err.offset}", label=f"{self.path.name} byte {err.offset}", error=str(err)
            )

    def _to_batch_item(self, item: X9Item) -> BatchItem:
        x9 = {
            "index": item.index,
            "routing": item.routing,
            "on_us": item.on_us,
            "account": item.account,
            "serial": item.serial,
            "amount_cents": item.amount_cents,
            "sequence": item.sequence,
            "offset": item.offset,
        }
        label = f"{self.path.name} item {item.index + 1}" + (f" (seq {item.sequence})" if item.sequence else "")
        error = None if item.front_image else "the X9 item has no front image"
        return BatchItem(key=item.key, label=label, data=item.front_image, x9=x9, error=error)


def open_source(path: str | Path) -> FolderSource | X9Source:
    source = Path(path)
    if source.is_dir():
        return FolderSource(source)
    if not source.is_file():
        raise BatchError(f"{source}: no such folder or file")
    with open(source, "rb") as handle:
        head = handle.read(6)
    try:
        detect_encoding(head)
    except ValueError as exc:
        raise BatchError(f"{source}: a batch source is a folder of images or an X9.37 file ({exc})") from None
    return X9Source(source)


# --------------------------------------------------------------------------- customers


def normalize_account(account: str) -> str:
    """Digits and letters only: '1211-1234-56789' in the MICR matches '1211123456789' in the store."""
    return re.sub(r"[^0-9A-Za-z]", "", account).lstrip("0")


def read_manifest(path: Path) -> dict[str, str]:
    """``file,customer_id`` rows (header optional) -> {file as written: customer}."""
    try:
        with open(path, newline="", encoding="utf-8-sig") as handle:
            rows = [row for row in csv.reader(handle) if row and any(cell.strip() for cell in row)]
    except OSError as exc:
        raise BatchError(f"manifest {path}: cannot be read ({exc.strerror or exc})") from exc
    if rows and [cell.strip().lower() for cell in rows[0][:2]] in (["file", "customer_id"], ["file", "customer"]):
        rows = rows[1:]
    mapping: dict[str, str] = {}
    for number, row in enumerate(rows, start=1):
        if len(row) < 2 or not row[0].strip() or not row[1].strip():
            raise BatchError(f"manifest {path}: row {number} is not 'file,customer_id': {row}")
        mapping[row[0].strip().replace("\\", "/")] = row[1].strip()
    return mapping


class CustomerResolver:
    """Which customer an item belongs to: manifest first, then the pattern, then the X9 account."""

    def __init__(self, store: Store, manifest: Path | None = None, pattern: str | None = None) -> None:
        self.store = store
        self.manifest = read_manifest(manifest) if manifest else None
        self.by_name: dict[str, str] = {}
        if self.manifest:
            for name, customer in self.manifest.items():
                self.by_name.setdefault(Path(name).name, customer)
        self.pattern = self._compile(pattern) if pattern else None
        self._accounts: dict[str, str] | None = None

    @staticmethod
    def _compile(pattern: str) -> re.Pattern[str]:
        try:
            compiled = re.compile(pattern)
        except re.error as exc:
            raise BatchError(f"--pattern is not a valid regular expression: {exc}") from exc
        if "customer" not in compiled.groupindex:
            raise BatchError("--pattern needs a named group (?P<customer>...)")
        return compiled

    def accounts(self) -> dict[str, str]:
        if self._accounts is None:  # one query for the whole batch, not one per item
            self._accounts = {
                normalize_account(c.account): c.customer_id for c in self.store.list_customers() if c.account
            }
        return self._accounts

    def resolve(self, item: BatchItem) -> tuple[str | None, str]:
        """(customer id, how it was found) or (None, why not)."""
        if self.manifest is not None:
            for key in self._manifest_keys(item):
                if key in self.manifest:
                    return self.manifest[key], "manifest"
            if Path(item.key).name in self.by_name and item.x9 is None:
                return self.by_name[Path(item.key).name], "manifest"
        if self.pattern is not None:
            match = self.pattern.search(item.key)
            if match and match.group("customer"):
                return match.group("customer"), "pattern"
        if item.x9 is not None and item.x9.get("account"):
            account = item.x9["account"]
            customer = self.accounts().get(normalize_account(account))
            if customer:
                return customer, "account"
            return None, f"account {account!r} belongs to no customer in the store"
        tried = [name for name, used in (("manifest", self.manifest), ("pattern", self.pattern)) if used]
        return None, "no customer for this item" + (f" (not found by {' or '.join(tried)})" if tried else
                                                    ": give --manifest or --pattern")

    @staticmethod
    def _manifest_keys(item: BatchItem) -> list[str]:
        keys = [item.key]
        if item.x9:
            keys += [str(item.x9.get("sequence", "")), str(item.x9.get("index", "")), item.label]
        return [key for key in keys if key]


# --------------------------------------------------------------------------- the worker side


@dataclass
class Prepared:
    """What a worker sends back: the model input, or why there is none."""

    key: str
    normalized: np.ndarray | None = field(default=None, repr=False)
    box: Box | None = None
    sha256: str = ""
    crop_png: bytes | None = field(default=None, repr=False)
    timings: dict[str, float] = field(default_factory=dict)
    error: str | None = None
    embedding: np.ndarray | None = field(default=None, repr=False)  # already embedded (Ray actors)


_PARAMS = NormalizationParams()


def _init_worker(params: dict) -> None:
    global _PARAMS
    _PARAMS = NormalizationParams.from_dict(params)
    # Ctrl-C goes to the whole process group: the parent decides, workers finish their item
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    cv2.setNumThreads(1)  # parallelism comes from the processes; OpenCV threads would oversubscribe


def prepare_item(item: BatchItem, params: NormalizationParams | None = None) -> Prepared:
    """Read, decode, find the signature, normalise; never raises (errors become ``Prepared.error``).

    The same steps as ``verify.prepare`` without a user box, timed per stage for the benchmark.
    """
    params = params or _PARAMS
    timings: dict[str, float] = {}
    started, cpu_started = time.perf_counter(), time.process_time()
    try:
        data = item.data if item.data is not None else read_file_bytes(item.path or "", item.label)
        image = load_image(data, name=item.label)
        timings["decode"] = time.perf_counter() - started
        mark = time.perf_counter()
        extraction = find_signature(image.gray, image.dpi)
        timings["extraction"] = time.perf_counter() - mark
        if not extraction.found or extraction.crop is None:
            raise ValueError(f"no signature found ({extraction.reason or 'nothing signature-like'})")
        mark = time.perf_counter()
        normalized = normalize_signature(extraction.crop, params)
        timings["normalisation"] = time.perf_counter() - mark
    except Exception as exc:  # noqa: BLE001 - any failure of one item is that item's row, never the batch's
        timings["cpu"] = time.process_time() - cpu_started
        return Prepared(item.key, timings=timings, error=_reason(exc, item.label))
    # CPU time, unlike the wall times above, barely changes when other programs share the cores
    timings["cpu"] = time.process_time() - cpu_started
    box = tuple(int(v) for v in extraction.box) if extraction.is_cheque and extraction.box else None
    return Prepared(item.key, normalized, box, hashlib.sha256(data).hexdigest(),  # type: ignore[arg-type]
                    _thumbnail_png(extraction.crop), timings)


def _reason(exc: Exception, label: str) -> str:
    text = str(exc) or exc.__class__.__name__
    text = text.removeprefix(f"{label}: ")  # the report names the item in its own column
    known = ("ImageLoadError", "NoSignatureError", "NoInkError", "ValueError")
    # an unexpected exception type is a bug somewhere: keep its name in the report
    return text if exc.__class__.__name__ in known else f"{exc.__class__.__name__}: {text}"


def _thumbnail_png(gray: np.ndarray) -> bytes:
    h, w = gray.shape[:2]
    scale = min(1.0, THUMB_SIZE[0] / max(w, 1), THUMB_SIZE[1] / max(h, 1))
    if scale < 1.0:
        gray = cv2.resize(gray, (max(1, round(w * scale)), max(1, round(h * scale))), interpolation=cv2.INTER_AREA)
    ok, buffer = cv2.imencode(".png", gray)
    return buffer.tobytes() if ok else b""


class _InlineExecutor(Executor):
    """workers=0: everything in this process (the single-process baseline, and debugging)."""

    def __init__(self, params: NormalizationParams) -> None:
        self.params = params

    def submit(self, fn, /, *args, **kwargs) -> Future:  # type: ignore[override]
        future: Future = Future()
        future.set_result(fn(*args, params=self.params))
        return future


def _make_pool(workers: int, params: NormalizationParams) -> Executor:
    if workers <= 0:
        return _InlineExecutor(params)
    return ProcessPoolExecutor(
        max_workers=workers,
        mp_context=multiprocessing.get_context("spawn"),
        initializer=_init_worker,
        initargs=(params.to_dict(),),
    )


# --------------------------------------------------------------------------- options and results


@dataclass(frozen=True)
class BatchOptions:
    source: Path
    manifest: Path | None = None
    pattern: str | None = None
    workers: int = field(default_factory=default_workers)
    batch_size: int = 32  # items per embedding call and per database transaction
    max_in_flight: int | None = None  # items between source and store; default 4 per worker
    resume: bool | int = False  # True: the latest run of this source; an int: that run
    user: str | None = None
    ray_address: str | None = None  # run on a Ray cluster ("local" starts one here); see batch_ray
    ray_actors: int | None = None  # embedding actors; default one per GPU, else one

    def to_dict(self) -> dict:
        return {"manifest": str(self.manifest) if self.manifest else None, "pattern": self.pattern,
                "workers": self.workers, "batch_size": self.batch_size, "ray": self.ray_address}


@dataclass
class BatchProgress:
    run_id: int
    total: int
    done: int  # rows in the store, including those of an earlier, resumed session
    errors: int
    elapsed: float


@dataclass
class BatchSummary:
    run_id: int
    source: str
    kind: str
    total: int
    processed: int  # items finished in this session
    skipped: int  # finished before (resume)
    errors: int
    decisions: dict[str, int]
    elapsed: float
    stage_seconds: dict[str, float]
    waiting_seconds: float  # main process idle, waiting for workers: the CPU stages starving inference
    worker_cpu_seconds: float  # CPU time of decode + extraction + normalisation, all processes
    workers: int
    providers: list[str]
    model: str
    thresholds: dict
    interrupted: bool = False

    @property
    def items_per_second(self) -> float:
        return self.processed / self.elapsed if self.elapsed > 0 else 0.0

    def to_dict(self) -> dict:
        data = dict(self.__dict__)
        data["items_per_second"] = round(self.items_per_second, 3)
        data["stage_seconds"] = {k: round(v, 4) for k, v in self.stage_seconds.items()}
        return data


@dataclass(frozen=True)
class ItemResult:
    """One row of the report (and of batch_items)."""

    key: str
    label: str
    customer_id: str | None
    score: float | None
    decision: str | None
    reference_id: int | None
    box: Box | None
    error: str | None
    details: dict = field(default_factory=dict)

    def to_dict(self) -> dict:
        x9 = self.details.get("x9") or {}
        return {
            "item": self.key, "file": self.label, "customer_id": self.customer_id,
            "score": None if self.score is None else round(self.score, 6), "decision": self.decision,
            "reference_id": self.reference_id, "box": list(self.box) if self.box else None, "error": self.error,
            "routing": x9.get("routing"), "account": x9.get("account"), "serial": x9.get("serial"),
            "amount_cents": x9.get("amount_cents"),
        }


# --------------------------------------------------------------------------- runs in the store


def _source_id(path: Path) -> str:
    return str(path.resolve())


def find_run(store: Store, source: Path, run_id: int | None = None):
    """The run to resume: ``run_id``, or the latest run of this source; None if there is none."""
    query = select(batch_runs)
    query = query.where(batch_runs.c.id == run_id) if run_id else query.where(
        batch_runs.c.source == _source_id(source)).order_by(batch_runs.c.id.desc())
    row = store.run(lambda c: c.execute(query).first())
    if run_id and row is None:
        raise BatchError(f"there is no batch run {run_id}")
    if row is not None and run_id and row.source != _source_id(source):
        raise BatchError(f"batch run {run_id} was for {row.source}, not {_source_id(source)}")
    return row


def _start_run(store: Store, options: BatchOptions, user: str | None) -> tuple[int, set[str], int]:
    """(run id, keys already finished, errors among them)."""
    if options.resume:
        row = find_run(store, options.source, options.resume if options.resume is not True else None)
        if row is not None:
            run_id = row.id
            rows = store.run(lambda c: c.execute(select(batch_items.c.item_key, batch_items.c.error)
                                                 .where(batch_items.c.run_id == run_id)).all())
            store.run(lambda c: c.execute(update(batch_runs).where(batch_runs.c.id == run_id)
                                          .values(status="running", finished_at=None)))
            return run_id, {r.item_key for r in rows}, sum(1 for r in rows if r.error)
    run_id = store.run(lambda c: c.execute(insert(batch_runs).values(
        source=_source_id(options.source), options=json.dumps(options.to_dict()), status="running",
        started_at=now_iso(), user=user)).inserted_primary_key[0])
    return run_id, set(), 0


def _finish_run(store: Store, run_id: int, status: str) -> None:
    store.run(lambda c: c.execute(update(batch_runs).where(batch_runs.c.id == run_id)
                                  .values(status=status, finished_at=now_iso())))


# --------------------------------------------------------------------------- scoring


class _References:
    """Each customer's reference embeddings, read once per batch (not once per item)."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self.cache: dict[str, tuple[list[int], np.ndarray] | str] = {}

    def get(self, customer_id: str) -> tuple[list[int], np.ndarray] | str:
        """(reference ids, matrix) or the reason there are none."""
        if customer_id not in self.cache:
            refs = self.store.references_for(customer_id)
            if refs:
                self.cache[customer_id] = ([r.id for r in refs], np.stack([r.embedding for r in refs]))
            elif self.store.get_customer(customer_id) is None:
                self.cache[customer_id] = f"unknown customer {customer_id!r}: not in the reference store"
            else:
                self.cache[customer_id] = f"customer {customer_id!r} has no reference signature registered"
        return self.cache[customer_id]


# --------------------------------------------------------------------------- the pipeline


def _require_verify_permission(verifier) -> str | None:
    """Behind the security guard, batch needs the verify permission; returns the user's name."""
    user = getattr(verifier, "user", None)
    if user is None:
        return None  # a bare Verifier (tests, tools): the caller is trusted
    from .security import Permission, require  # the guard's own check, not a copy of its rules

    require(user, Permission.VERIFY)
    return user.username


class _Stop(Exception):
    """should_stop() said so."""


class BatchRunner:
    """One batch run; ``run()`` does the work. The CLI and the GUI drive this same class."""

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
        self.resolver = CustomerResolver(self.store, options.manifest, options.pattern)
        self.references = _References(self.store)
        self.thresholds: Thresholds = verifier.thresholds()
        self.stage_seconds = dict.fromkeys(STAGES, 0.0)
        self.waiting = 0.0
        self.worker_cpu = 0.0
        self.ready: list[tuple[BatchItem, str, Prepared]] = []  # prepared, waiting for the next embedding
        self.failed: list[ItemResult] = []  # errors, written with the next batch
        self.processed = self.errors = 0
        self.decisions: Counter[str] = Counter()

    # -- public --------------------------------------------------------------------------
    def run(self) -> BatchSummary:
        started = time.perf_counter()
        self.run_id, done, done_errors = _start_run(self.store, self.options, self.user)
        self.total = self.source.count()
        self._audit("batch_start", {"run_id": self.run_id, "source": _source_id(self.options.source),
                                    "resumed_items": len(done), **self.options.to_dict()})
        self.skipped, self.errors_before = len(done), done_errors
        self.started = started
        if self.on_progress is not None:  # the total (and a resumed run's head start) before any work
            self.on_progress(BatchProgress(self.run_id, self.total, self.skipped, self.errors_before, 0.0))
        status, interrupted = "finished", False
        # on Ray the cluster does the preparing; the inline executor only keeps shutdown symmetric
        self.pool = _InlineExecutor(NormalizationParams()) if self.options.ray_address else self._new_pool()
        try:
            if self.options.ray_address:
                _ray_loop(self, done)
            else:
                self._loop(done)
            self._flush(final=True)
        except (KeyboardInterrupt, _Stop):
            status, interrupted = "interrupted", True
        except BaseException:
            _finish_run(self.store, self.run_id, "failed")
            raise
        finally:
            # workers ignore SIGINT and finish their one item; queued items are dropped (redone on resume)
            self.pool.shutdown(wait=True, cancel_futures=True)
        _finish_run(self.store, self.run_id, status)
        summary = self._summary(time.perf_counter() - started, interrupted)
        self._audit("batch_finish", {"run_id": self.run_id, "status": status, "processed": summary.processed,
                                     "errors": summary.errors, "decisions": summary.decisions,
                                     "model_version": summary.model})
        return summary

    def _audit(self, action: str, details: dict) -> None:
        """One chained audit record per batch start and end (not per item: the rows are the detail)."""
        audit = getattr(self.verifier, "audit", None)
        if audit is not None:
            self.store.run(lambda conn: audit(conn, self.user, action, details))

    # -- the loop ------------------------------------------------------------------------
    def _new_pool(self) -> Executor:
        return _make_pool(self.options.workers, self.verifier.engine.metadata.normalization)

    def _loop(self, done: set[str]) -> None:
        limit = self.options.max_in_flight or max(8, 4 * max(1, self.options.workers))
        pending: dict[Future, tuple[BatchItem, str]] = {}
        mark = time.perf_counter()
        for item in self.source.items():
            if self.should_stop():
                raise _Stop
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
                raise _Stop
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
            self._fail(item, customer, prepared.error)
        else:
            self.ready.append((item, customer, prepared))
        if len(self.ready) >= self.options.batch_size or len(self.failed) >= self.options.batch_size:
            self._flush()

    def _fail(self, item: BatchItem, customer: str | None, reason: str) -> None:
        self.failed.append(ItemResult(item.key, item.label, customer, None, None, None, None, reason,
                                      self._details(item, None)))

    def _details(self, item: BatchItem, prepared: Prepared | None) -> dict:
        details: dict = {"label": item.label}
        if item.x9:
            details["x9"] = item.x9
        if prepared is not None:
            details["sha256"] = prepared.sha256
            details["timings"] = {k: round(v, 5) for k, v in prepared.timings.items()}
        return details

    # -- embedding, scoring, writing ------------------------------------------------------
    def _flush(self, final: bool = False) -> None:
        results = self._score(self.ready)
        crops = {item.key: prepared.crop_png for item, _, prepared in self.ready}
        rows = results + self.failed
        if rows:
            mark = time.perf_counter()
            self._write(rows, crops)
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

    def _score(self, ready: list[tuple[BatchItem, str, Prepared]]) -> list[ItemResult]:
        if not ready:
            return []
        mark = time.perf_counter()
        embeddings = self._embeddings([p for _, _, p in ready])
        results = []
        for (item, customer, prepared), embedding in zip(ready, embeddings, strict=True):
            refs = self.references.get(customer)
            assert not isinstance(refs, str)  # checked before the item was submitted
            ids, matrix = refs
            scores = matrix @ embedding
            best = int(np.argmax(scores))
            details = self._details(item, prepared)
            details["reference_scores"] = [{"reference_id": i, "score": round(float(s), 6)}
                                           for i, s in zip(ids, scores, strict=True)]
            details["thresholds"] = self.thresholds.to_dict()
            details["model"] = self.verifier.model_version
            score = float(scores[best])
            results.append(ItemResult(item.key, item.label, customer, score, decide(score, self.thresholds).value,
                                      ids[best], prepared.box, None, details))
        self.stage_seconds["inference"] += time.perf_counter() - mark
        return results

    def _embeddings(self, prepared: list[Prepared]) -> list[np.ndarray]:
        """One batched engine call for the items not already embedded elsewhere."""
        todo = [i for i, p in enumerate(prepared) if p.embedding is None]
        embeddings = [p.embedding for p in prepared]
        if todo:
            computed = self.verifier.engine.embed(np.stack([prepared[i].normalized for i in todo]),
                                                  batch_size=len(todo))
            for i, embedding in zip(todo, computed, strict=True):
                embeddings[i] = embedding
        return embeddings  # type: ignore[return-value]

    def _write(self, rows: list[ItemResult], crops: dict[str, bytes | None]) -> None:
        cipher = self.store.cipher
        created = now_iso()
        values = [{
            "run_id": self.run_id, "item_key": row.key, "customer_id": row.customer_id, "score": row.score,
            "decision": row.decision, "reference_id": row.reference_id,
            "box": json.dumps(list(row.box)) if row.box else None, "error": row.error,
            "created_at": created, "details": json.dumps(row.details),
            "crop_png": cipher.encrypt(crops[row.key]) if crops.get(row.key) else None,
        } for row in rows]
        self.store.run(lambda c: c.execute(insert(batch_items), values))

    def _summary(self, elapsed: float, interrupted: bool) -> BatchSummary:
        engine = self.verifier.engine
        return BatchSummary(
            run_id=self.run_id, source=_source_id(self.options.source), kind=self.source.kind, total=self.total,
            processed=self.processed, skipped=self.skipped, errors=self.errors_before + self.errors,
            decisions=dict(self.decisions), elapsed=elapsed, stage_seconds=dict(self.stage_seconds),
            waiting_seconds=self.waiting, worker_cpu_seconds=self.worker_cpu, workers=self.options.workers,
            providers=list(engine.providers),
            model=engine.metadata.version, thresholds=self.thresholds.to_dict(), interrupted=interrupted,
        )


def run_batch(verifier: Verifier, options: BatchOptions, **callbacks) -> BatchSummary:
    """Run (or resume) one batch; see ``BatchRunner`` for the callbacks."""
    return BatchRunner(verifier, options, **callbacks).run()


# --------------------------------------------------------------------------- Ray (extra "cluster")
#
# The same pipeline on a Ray cluster: the driver (this process) walks the source, maps customers,
# skips finished items and writes the store exactly as the local run does; ray.data runs
# read + decode + extraction + normalisation as CPU tasks and embedding in actors that hold the
# model (one per GPU where the cluster has GPUs). Rows carry file paths and X9 offsets, never image
# bytes, so the driver's memory does not grow with the night's volume: the source must be on
# storage every node can read. ``import ray`` happens only here, when --ray is given.


RAY_TASK_MEMORY = 256 * 2**20  # bytes a prepare task may need: a 60 MP scan in gray and RGB, plus work


def _ray_row(item: BatchItem, source: FolderSource | X9Source) -> dict:
    if item.x9 is not None and isinstance(source, X9Source):
        return {"key": item.key, "label": item.label, "path": str(source.path.resolve()),
                "x9_offset": int(item.x9["offset"]), "x9_index": int(item.x9["index"])}
    return {"key": item.key, "label": item.label, "path": str(Path(item.path or "").resolve()), "x9_offset": -1,
            "x9_index": -1}


def _ray_prepare(row: dict, params: dict) -> dict:
    """Ray task: the worker's ``prepare_item`` on one row; the output columns are the same for every row."""
    normalization = NormalizationParams.from_dict(params)
    if row["x9_offset"] >= 0:
        try:
            front = read_x9_item(row["path"], row["x9_offset"], row["x9_index"]).front_image
            item = BatchItem(row["key"], row["label"], data=front or b"")
        except X9Error as exc:
            item = BatchItem(row["key"], row["label"], error=str(exc))
    else:
        item = BatchItem(row["key"], row["label"], path=row["path"])
    prepared = prepare_item(item, normalization) if item.error is None else Prepared(item.key, error=item.error)
    ok = prepared.error is None and prepared.normalized is not None
    shape = (normalization.height, normalization.width)
    return {"key": row["key"], "ok": ok, "error": prepared.error or "",
            "normalized": prepared.normalized if ok else np.zeros(shape, np.float32),
            "box": json.dumps(prepared.box), "sha256": prepared.sha256, "crop_png": prepared.crop_png or b"",
            "timings": json.dumps(prepared.timings)}


class RayEmbedder:
    """Ray actor: one Engine per actor (per GPU), embedding whole batches of rows."""

    def __init__(self, model_path: str, device: str, sha256: str) -> None:
        from .engine import Engine, ModelError

        self.engine = Engine(model_path, device=device, accepted_sha256=[sha256])
        if self.engine.check.sha256 != sha256:
            raise ModelError(f"the model file {model_path} on this node is not the driver's model")

    def __call__(self, batch: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        ok = batch["ok"].astype(bool)
        embeddings = np.zeros((len(ok), self.engine.metadata.embedding_size), np.float32)
        if ok.any():
            embeddings[ok] = self.engine.embed(np.stack(list(batch["normalized"][ok])), batch_size=int(ok.sum()))
        out = {name: column for name, column in batch.items() if name != "normalized"}
        out["embedding"] = embeddings
        return out


def _ray_connect(address: str) -> None:
    import ray

    if ray.is_initialized():  # a test, or the GUI, already holds a connection
        return
    if address in ("local", ""):
        ray.init(include_dashboard=False, log_to_driver=False)
    else:
        ray.init(address=address, log_to_driver=False)


def _ray_dataset(runner: BatchRunner, rows: list[dict]):
    import ray

    engine = runner.verifier.engine
    gpus = int(ray.cluster_resources().get("GPU", 0))
    use_gpu = gpus > 0 and engine.requested_device in ("auto", "cuda")
    actors = runner.options.ray_actors or (gpus if use_gpu else 1)
    context = ray.data.DataContext.get_current()
    context.enable_progress_bars = False  # the driver's own progress bar says it once
    # the memory request (one decoded scan within the pixel budget) also keeps Ray from fusing this
    # stage into the embedding actors, which would cap the CPU stages at one process per actor
    dataset = ray.data.from_items(rows).map(
        _ray_prepare, fn_kwargs={"params": engine.metadata.normalization.to_dict()}, num_cpus=1,
        memory=RAY_TASK_MEMORY)
    return dataset.map_batches(
        RayEmbedder, batch_size=runner.options.batch_size, batch_format="numpy",
        compute=ray.data.ActorPoolStrategy(size=actors),
        num_gpus=1 if use_gpu else 0, fn_constructor_kwargs={
            "model_path": str(engine.path), "device": "cuda" if use_gpu else "cpu", "sha256": engine.check.sha256})


def _ray_loop(runner: BatchRunner, done: set[str]) -> None:
    """BatchRunner._loop for a Ray cluster: same skips, errors, scoring and writes."""
    tasks: dict[str, tuple[BatchItem, str]] = {}
    rows = []
    mark = time.perf_counter()
    for item in runner.source.items():
        if runner.should_stop():
            raise _Stop
        if item.key in done:
            continue
        done.add(item.key)
        customer = runner._customer_or_fail(item)
        if customer is not None:
            light = BatchItem(item.key, item.label, item.path, None, item.x9)  # no bytes kept in the driver
            tasks[item.key] = (light, customer)
            rows.append(_ray_row(light, runner.source))
    runner.stage_seconds["read"] += time.perf_counter() - mark
    if not rows:
        return
    _ray_connect(runner.options.ray_address or "local")
    batches = iter(_ray_dataset(runner, rows).iter_batches(batch_size=runner.options.batch_size,
                                                           batch_format="numpy"))
    while True:
        mark = time.perf_counter()
        batch = next(batches, None)
        runner.waiting += time.perf_counter() - mark
        if batch is None:
            return
        for i, key in enumerate(batch["key"]):
            item, customer = tasks[str(key)]
            runner._take(item, customer, _ray_prepared(batch, i))
        if runner.should_stop():
            raise _Stop


def _ray_prepared(batch: dict[str, np.ndarray], i: int) -> Prepared:
    ok = bool(batch["ok"][i])
    box = json.loads(batch["box"][i])
    return Prepared(str(batch["key"][i]), None, tuple(box) if box else None, str(batch["sha256"][i]),  # type: ignore[arg-type]
                    bytes(batch["crop_png"][i]) or None, json.loads(batch["timings"][i]),
                    None if ok else str(batch["error"][i]), np.asarray(batch["embedding"][i]) if ok else None)


# --------------------------------------------------------------------------- reports


def load_results(store: Store, run_id: int) -> list[ItemResult]:
    """Every row of a run (all sessions of it), in item order."""
    columns = [c for c in batch_items.c if c.name != "crop_png"]  # thumbnails only when the HTML needs them
    rows = store.run(lambda c: c.execute(select(*columns).where(batch_items.c.run_id == run_id)
                                         .order_by(batch_items.c.item_key)).all())
    results = []
    for row in rows:
        details = json.loads(row.details) if row.details else {}
        box = tuple(json.loads(row.box)) if row.box else None
        results.append(ItemResult(row.item_key, details.get("label", row.item_key), row.customer_id, row.score,
                                  row.decision, row.reference_id, box, row.error, details))  # type: ignore[arg-type]
    return results


def review_order(results: list[ItemResult]) -> list[ItemResult]:
    """No match first, then refer, then errors, then match; lowest scores first within each."""
    return sorted(results, key=lambda r: (REVIEW_ORDER.get(r.decision, 2), r.score if r.score is not None else 0.0,
                                          r.key))


REPORT_COLUMNS = ("item", "file", "customer_id", "score", "decision", "reference_id", "box", "error", "routing",
                  "account", "serial", "amount_cents")


def write_csv(results: list[ItemResult], path: Path) -> None:
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=REPORT_COLUMNS)
        writer.writeheader()
        for result in results:
            row = result.to_dict()
            row["box"] = " ".join(map(str, result.box)) if result.box else ""
            writer.writerow(row)


def report_summary(results: list[ItemResult], summary: BatchSummary | None = None) -> dict:
    """Counts over every row of the run (earlier sessions included), plus this session's figures."""
    counts = Counter(r.decision if not r.error else "error" for r in results)
    data = {"items": len(results), "match": counts.get("match", 0), "refer": counts.get("refer", 0),
            "no_match": counts.get("no_match", 0), "errors": counts.get("error", 0)}
    if summary is not None:
        data.update(run_id=summary.run_id, source=summary.source, model=summary.model,
                    thresholds=summary.thresholds, providers=summary.providers, workers=summary.workers,
                    session_items=summary.processed, session_seconds=round(summary.elapsed, 3),
                    items_per_second=round(summary.items_per_second, 2), interrupted=summary.interrupted)
    return data


def write_json(results: list[ItemResult], path: Path, summary: BatchSummary | None = None) -> None:
    document = {"summary": report_summary(results, summary), "items": [r.to_dict() for r in results]}
    path.write_text(json.dumps(document, indent=1, ensure_ascii=False), encoding="utf-8")


def crop_thumbnails(store: Store, run_id: int, keys: list[str]) -> dict[str, bytes]:
    """{item key: signature crop thumbnail PNG} for those of ``keys`` that have one (GUI, HTML)."""
    found: dict[str, bytes] = {}
    for start in range(0, len(keys), 500):  # SQLite caps the number of bound parameters
        chunk = keys[start : start + 500]
        rows = store.run(lambda c, chunk=chunk: c.execute(
            select(batch_items.c.item_key, batch_items.c.crop_png)
            .where(batch_items.c.run_id == run_id, batch_items.c.item_key.in_(chunk))).all())
        found.update({r.item_key: store.cipher.decrypt(r.crop_png) for r in rows if r.crop_png})
    return found


def _reference_thumbnail(store: Store, reference_id: int) -> bytes | None:
    """The reference's normalised image, turned back to dark ink on paper to sit beside the crop."""
    try:
        _, normalized_png = store.reference_images(reference_id)
    except KeyError:
        return None
    image = cv2.imdecode(np.frombuffer(normalized_png, np.uint8), cv2.IMREAD_GRAYSCALE)
    if image is None:
        return None
    return _thumbnail_png(255 - image)


def _plain(value: object) -> str:
    """Summary values as a person reads them, not as Python prints them."""
    if isinstance(value, dict):
        return ", ".join(f"{k} {v}" for k, v in value.items())
    if isinstance(value, list):
        return ", ".join(map(str, value))
    return str(value)


def _img(data: bytes | None, alt: str) -> str:
    if not data:
        return '<span class="none">-</span>'
    encoded = base64.b64encode(data).decode("ascii")
    return f'<img src="data:image/png;base64,{encoded}" alt="{html.escape(alt)}">'


_CSS = """
body{font-family:system-ui,sans-serif;margin:1.5em;color:#222}
table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:4px 6px;vertical-align:middle;text-align:left}
.summary td{min-width:6em}.no_match{background:#fde2e2}.refer{background:#fff4cc}.error{background:#eee}
.match{background:#e3f6e3}img{max-width:320px;max-height:120px;background:#fff;border:1px solid #ddd}
.none{color:#999}.err{color:#a00;max-width:30em}
"""


def write_html(store: Store, run_id: int, results: list[ItemResult], path: Path,
               summary: BatchSummary | None = None, max_thumbnails: int = 2000) -> None:
    """Summary on top, then every item in review order with its crop beside the reference used."""
    ordered = review_order(results)
    crops = crop_thumbnails(store, run_id, [r.key for r in ordered[:max_thumbnails]])
    references: dict[int, bytes | None] = {}
    counts = report_summary(results, summary)
    lines = ["<!doctype html><html><head><meta charset='utf-8'>",
             f"<title>sigverify batch {run_id}</title><style>{_CSS}</style></head><body>",
             f"<h1>Batch {run_id}</h1>", "<table class='summary'>"]
    for key, value in counts.items():
        lines.append(f"<tr><th>{html.escape(key.replace('_', ' '))}</th><td>{html.escape(_plain(value))}</td></tr>")
    lines.append("</table>")
    if len(ordered) > max_thumbnails:
        lines.append(f"<p>Images shown for the first {max_thumbnails} items in review order.</p>")
    lines.append("<h2>Items</h2><table><tr><th>#</th><th>item</th><th>customer</th><th>decision</th>"
                 "<th>score</th><th>signature on the item</th><th>reference used</th><th>box</th><th>error</th></tr>")
    for number, result in enumerate(ordered, start=1):
        if result.reference_id is not None and number <= max_thumbnails and result.reference_id not in references:
            references[result.reference_id] = _reference_thumbnail(store, result.reference_id)
        css = result.decision if not result.error else "error"
        reference = references.get(result.reference_id) if result.reference_id is not None else None
        lines.append(
            f"<tr class='{css}'><td>{number}</td><td>{html.escape(result.label)}</td>"
            f"<td>{html.escape(result.customer_id or '')}</td><td>{html.escape(result.decision or 'error')}</td>"
            f"<td>{'' if result.score is None else f'{result.score:.3f}'}</td>"
            f"<td>{_img(crops.get(result.key), 'signature crop')}</td>"
            f"<td>{_img(reference, f'reference {result.reference_id}')}</td>"
            f"<td>{html.escape(' '.join(map(str, result.box)) if result.box else '')}</td>"
            f"<td class='err'>{html.escape(result.error or '')}</td></tr>")
    lines.append("</table></body></html>")
    path.write_text("\n".join(lines), encoding="utf-8")
