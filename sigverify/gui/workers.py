"""The one background-task helper: QThreadPool + typed signals + a generation counter per key.

Every slow call (loading the model, extracting, embedding, database work, batch runs) goes
through :class:`TaskRunner`, so the window never freezes. Tasks are grouped by a *key*
("verify", "references", ...): submitting a new task under a key bumps that key's generation,
and a result that comes back with an older generation is dropped, because the inputs it was
computed from (file, customer, box) have changed since.
"""

from __future__ import annotations

import logging
import threading
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from PySide6.QtCore import QObject, QRunnable, QThreadPool, Signal, Slot

log = logging.getLogger(__name__)


class Cancelled(Exception):
    """Raised inside a task function that noticed ``task.cancelled``; not an error for the user."""


@dataclass
class TaskHandle:
    """What the task function gets: progress reporting and a cancel flag it should poll."""

    key: str
    generation: int
    _emit_progress: Callable[[int, object], None] = field(repr=False)
    _cancel: threading.Event = field(default_factory=threading.Event, repr=False)

    @property
    def cancelled(self) -> bool:
        return self._cancel.is_set()

    def cancel(self) -> None:
        self._cancel.set()

    def progress(self, value: object) -> None:
        """Send ``value`` to the GUI thread (queued); safe to call from the worker."""
        self._emit_progress(self.generation, value)

    def check(self) -> None:
        if self.cancelled:
            raise Cancelled()


class _Signals(QObject):
    # (generation, payload): emitted from the worker thread, delivered queued on the GUI thread
    finished = Signal(int, object)
    failed = Signal(int, object, str)
    progress = Signal(int, object)


class _Runnable(QRunnable):
    def __init__(self, fn: Callable[[TaskHandle], Any], handle: TaskHandle, signals: _Signals):
        super().__init__()
        self.fn, self.handle, self.signals = fn, handle, signals

    def run(self) -> None:  # worker thread: no widget may be touched here
        try:
            result = self.fn(self.handle)
        except BaseException as exc:  # noqa: BLE001 - every failure must reach the GUI as a message
            self.signals.failed.emit(self.handle.generation, exc, traceback.format_exc())
        else:
            self.signals.finished.emit(self.handle.generation, result)


@dataclass
class _Pending:
    handle: TaskHandle
    signals: _Signals
    on_result: Callable[[Any], None] | None
    on_error: Callable[[BaseException, str], None] | None
    on_progress: Callable[[object], None] | None


class TaskRunner(QObject):
    """Runs callables off the GUI thread; results arrive on the GUI thread, stale ones are dropped."""

    busy_changed = Signal(bool)

    def __init__(self, parent: QObject | None = None, max_threads: int = 2):
        super().__init__(parent)
        # a private pool: tests and shutdown wait for *our* tasks, not Qt's global pool
        self.pool = QThreadPool(self)
        self.pool.setMaxThreadCount(max_threads)
        self._generation: dict[str, int] = {}
        self._pending: dict[int, _Pending] = {}  # id(signals) -> pending task
        self._closed = False

    def generation(self, key: str) -> int:
        return self._generation.get(key, 0)

    def invalidate(self, key: str) -> None:
        """Inputs under ``key`` changed: whatever is still running there will be ignored."""
        self._generation[key] = self.generation(key) + 1
        for pending in self._pending.values():
            if pending.handle.key == key:
                pending.handle.cancel()

    def submit(self, key: str, fn: Callable[[TaskHandle], Any], on_result: Callable[[Any], None] | None = None,
               on_error: Callable[[BaseException, str], None] | None = None,
               on_progress: Callable[[object], None] | None = None) -> TaskHandle:
        """Run ``fn(handle)`` on the pool; an earlier task under ``key`` becomes stale."""
        if self._closed:
            raise RuntimeError("the task runner is shut down")
        self.invalidate(key)
        signals = _Signals()
        handle = TaskHandle(key, self.generation(key), signals.progress.emit)
        self._pending[id(signals)] = _Pending(handle, signals, on_result, on_error, on_progress)
        signals.finished.connect(self._on_finished)
        signals.failed.connect(self._on_failed)
        signals.progress.connect(self._on_progress)
        self.pool.start(_Runnable(fn, handle, signals))
        self.busy_changed.emit(True)
        return handle

    def is_busy(self, key: str | None = None) -> bool:
        return any(key is None or p.handle.key == key for p in self._pending.values())

    def _take(self, signals: QObject) -> _Pending | None:
        pending = self._pending.pop(id(signals), None)
        if not self._pending:
            self.busy_changed.emit(False)
        return pending

    def _current(self, pending: _Pending) -> bool:
        return pending.handle.generation == self.generation(pending.handle.key) and not self._closed

    @Slot(int, object)
    def _on_finished(self, _generation: int, result: object) -> None:
        pending = self._take(self.sender())
        if pending is None or not self._current(pending):
            log.debug("dropped a stale result for %s", pending.handle.key if pending else "?")
            return
        if pending.on_result is not None:
            pending.on_result(result)

    @Slot(int, object, str)
    def _on_failed(self, _generation: int, exc: object, details: str) -> None:
        pending = self._take(self.sender())
        if pending is None or not self._current(pending) or isinstance(exc, Cancelled):
            return
        if pending.on_error is not None:
            pending.on_error(exc, details)  # type: ignore[arg-type]
        else:
            log.error("background task %s failed:\n%s", pending.handle.key, details)

    @Slot(int, object)
    def _on_progress(self, _generation: int, value: object) -> None:
        pending = self._pending.get(id(self.sender()))
        if pending is not None and self._current(pending) and pending.on_progress is not None:
            pending.on_progress(value)

    def cancel(self, key: str) -> None:
        for pending in self._pending.values():
            if pending.handle.key == key:
                pending.handle.cancel()

    def wait(self, timeout_ms: int = 30_000) -> bool:
        """Block until every task has finished (tests, shutdown); True when the pool is idle."""
        return self.pool.waitForDone(timeout_ms)

    def shutdown(self, timeout_ms: int = 30_000) -> bool:
        """Cancel everything, wait for the threads, and ignore whatever they still send."""
        self._closed = True
        for pending in self._pending.values():
            pending.handle.cancel()
        # pending entries stay: their queued signals may still arrive and are dropped as closed
        return self.pool.waitForDone(timeout_ms)
