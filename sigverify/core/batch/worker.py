"""The per-item work that runs in worker processes: read, decode, find the signature, normalise.

Workers are started with ``spawn`` so the pool behaves the same on Linux, macOS and Windows, and
nothing of the parent (an onnxruntime session, a database connection) leaks into them. Spawned
workers import this module by name and unpickle ``prepare_item`` (or a test's stand-in) from it,
so everything they run must stay importable at module level here.
"""

from __future__ import annotations

import hashlib
import multiprocessing
import signal
import time
from concurrent.futures import Executor, Future, ProcessPoolExecutor
from dataclasses import dataclass, field

import cv2
import numpy as np

from ..imaging import read_file_bytes
from ..normalize import NormalizationParams
from ..pipeline import prepare
from .common import Box
from .sources import BatchItem

THUMB_SIZE = (320, 120)  # max width, height of the crop thumbnail kept for the HTML report


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
    except Exception as exc:  # noqa: BLE001 - any failure of one item is that item's row, never the batch's
        return Prepared(item.key, sha256=sha256, timings={"cpu": time.process_time() - cpu_started},
                        error=_reason(exc, item.label))
    # CPU time, unlike the wall times, barely changes when other programs share the cores
    timings = {**prepared.timings, "cpu": time.process_time() - cpu_started}
    return Prepared(item.key, prepared.normalized, prepared.box, sha256, thumbnail_png(prepared.extraction.crop),
                    timings)


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
        future.set_result(fn(*args, params=self.params))
        return future


def make_pool(workers: int, params: NormalizationParams) -> Executor:
    if workers <= 0:
        return InlineExecutor(params)
    return ProcessPoolExecutor(
        max_workers=workers,
        mp_context=multiprocessing.get_context("spawn"),
        initializer=_init_worker,
        initargs=(params.to_dict(),),
    )

