"""The per-item work that runs in worker processes: ``pipeline.prepare``, then (on a CPU) embedding.

Workers get items by reference (a file path, or the bytes of one X9 front) in chunks, and send
back one list per chunk: the box, the crop thumbnail, the file hash and, when the model runs on
the CPU, the embedding itself (128 numbers, not the 128 KB model input), so the main process is
left with scoring and the database. With a GPU the main process embeds (one batched call), and
the workers send the normalised arrays.

Workers are started with ``spawn`` so the pool behaves the same on Linux, macOS and Windows, and
nothing of the parent (an onnxruntime session, a database connection) leaks into them. Spawned
workers import this module by name and unpickle ``prepare_chunk`` and ``prepare_item`` (or a
test's stand-in) from it, so everything they run must stay importable at module level here.
"""

from __future__ import annotations

import hashlib
import multiprocessing
import signal
import time
from collections.abc import Callable
from concurrent.futures import Executor, Future, ProcessPoolExecutor
from dataclasses import dataclass, field

import cv2
import numpy as np

from ..engine import Engine
from ..imaging import read_file_bytes
from ..model_trust import ModelError
from ..normalize import NormalizationParams
from ..pipeline import UNSIGNED_REASON, UnsignedChequeError, prepare
from .common import Box
from .sources import BatchItem

THUMB_SIZE = (320, 120)  # max width, height of the crop thumbnail kept for the HTML report


@dataclass
class Prepared:
    """What a worker sends back: the model input (or its embedding), or why there is none."""

    key: str
    normalized: np.ndarray | None = field(default=None, repr=False)
    box: Box | None = None
    sha256: str = ""
    crop_png: bytes | None = field(default=None, repr=False)
    timings: dict[str, float] = field(default_factory=dict)
    error: str | None = None
    embedding: np.ndarray | None = field(default=None, repr=False)  # already embedded (workers, Ray actors)
    refer: str | None = None  # why the item is a "refer" without a score (a cheque judged unsigned)


@dataclass(frozen=True)
class WorkerSetup:
    """What a worker process needs: the normalisation, and the model when workers embed."""

    normalization: dict
    model_path: str | None = None  # None: the main process embeds (a GPU), workers only prepare
    model_sha256: str = ""
    # each worker's share of the cores: with fewer workers than cores a lone worker would
    # otherwise use one core while the single process it replaces uses them all
    threads: int = 1


_PARAMS = NormalizationParams()
_ENGINE: Engine | None = None


def _init_worker(setup: WorkerSetup) -> None:
    global _PARAMS, _ENGINE
    _PARAMS = NormalizationParams.from_dict(setup.normalization)
    # Ctrl-C goes to the whole process group: the parent decides, workers finish their chunk
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    # parallelism comes from the processes; more OpenCV threads than the worker's share oversubscribe
    cv2.setNumThreads(setup.threads)
    if setup.model_path:
        _ENGINE = worker_engine(setup.model_path, setup.model_sha256, setup.threads)


def worker_engine(model_path: str, sha256: str, threads: int = 1) -> Engine:
    """The driver's exact model on the worker's share of the CPU threads."""
    engine = Engine(model_path, device="cpu", threads=threads, accepted_sha256=[sha256])
    if engine.check.sha256 != sha256:
        raise ModelError(f"the model file {model_path} changed while the batch ran")
    return engine


def prepare_item(item: BatchItem, params: NormalizationParams | None = None) -> Prepared:
    """``pipeline.prepare`` on one item; never raises (errors become ``Prepared.error``)."""
    params = params or _PARAMS
    cpu_started = time.process_time()
    sha256 = ""
    try:
        data = item.data if item.data is not None else read_file_bytes(item.path or "", item.label)
        # hashed as read, before any decoding: the audit trail names exactly the bytes this item was
        # judged on, an unreadable image included (here, not in the main process, which never holds them)
        sha256 = hashlib.sha256(data).hexdigest()
        prepared = prepare(data, params, name=item.label, keep=False)
    except UnsignedChequeError:  # not a failure: a person must look at this cheque
        return Prepared(item.key, sha256=sha256, timings={"cpu": time.process_time() - cpu_started},
                        refer=UNSIGNED_REASON)
    except Exception as exc:  # noqa: BLE001 - any failure of one item is that item's row, never the batch's
        return Prepared(item.key, sha256=sha256, timings={"cpu": time.process_time() - cpu_started},
                        error=_reason(exc, item.label))
    # CPU time, unlike the wall times, barely changes when other programs share the cores
    timings = {**prepared.timings, "cpu": time.process_time() - cpu_started}
    return Prepared(item.key, prepared.normalized, prepared.box, sha256, thumbnail_png(prepared.extraction.crop),
                    timings)


def prepare_chunk(items: list[BatchItem], prepare_one: Callable[..., Prepared] = prepare_item,
                  params: NormalizationParams | None = None, engine: Engine | None = None) -> list[Prepared]:
    """Prepare several items, then embed the good ones in one call when this process holds the model."""
    results = [prepare_one(item, params) for item in items]
    engine = engine or _ENGINE
    ready = [r for r in results if r.error is None and r.normalized is not None]
    if engine is not None and ready:
        mark, cpu_mark = time.perf_counter(), time.process_time()
        embeddings = engine.embed(np.stack([r.normalized for r in ready]), batch_size=len(ready))
        share, cpu_share = (time.perf_counter() - mark) / len(ready), (time.process_time() - cpu_mark) / len(ready)
        for result, embedding in zip(ready, embeddings, strict=True):
            result.embedding, result.normalized = embedding, None  # the 128 KB input stays here
            result.timings["inference"] = share
            result.timings["cpu"] = result.timings.get("cpu", 0.0) + cpu_share
    return results


def _reason(exc: Exception, label: str) -> str:
    text = str(exc) or exc.__class__.__name__
    text = text.removeprefix(f"{label}: ")  # the report names the item in its own column
    known = ("ImageLoadError", "NoSignatureError", "NoInkError", "ValueError")
    # an unexpected exception type is a bug somewhere: keep its name in the report
    return text if exc.__class__.__name__ in known else f"{exc.__class__.__name__}: {text}"


def thumbnail_png(gray: np.ndarray) -> bytes:
    h, w = gray.shape[:2]
    scale = min(1.0, THUMB_SIZE[0] / max(w, 1), THUMB_SIZE[1] / max(h, 1))
    if scale < 1.0:
        gray = cv2.resize(gray, (max(1, round(w * scale)), max(1, round(h * scale))), interpolation=cv2.INTER_AREA)
    ok, buffer = cv2.imencode(".png", gray)
    return buffer.tobytes() if ok else b""


class InlineExecutor(Executor):
    """workers=0: everything in this process (the single-process baseline, and debugging)."""

    def __init__(self, params: NormalizationParams) -> None:
        self.params = params

    def submit(self, fn, /, *args, **kwargs) -> Future:  # type: ignore[override]
        future: Future = Future()
        future.set_result(fn(*args, params=self.params, **kwargs))
        return future


def make_pool(workers: int, setup: WorkerSetup) -> Executor:
    if workers <= 0:
        return InlineExecutor(NormalizationParams.from_dict(setup.normalization))
    return ProcessPoolExecutor(
        max_workers=workers,
        mp_context=multiprocessing.get_context("spawn"),
        initializer=_init_worker,
        initargs=(setup,),
    )
