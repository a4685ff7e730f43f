"""Python's cyclic garbage collector, run on the GUI thread only.

The automatic collector runs in whichever thread happens to allocate when a threshold is
crossed, often a QThreadPool worker. If the garbage it finds holds Qt objects (a closed dialog
or window caught in a reference cycle), they are destroyed in that worker thread and Qt crashes
the process (seen here: a segmentation fault "Garbage-collecting" in a worker's ``run``). So the
automatic collector is switched off while the GUI runs and a timer on the GUI thread collects
with the same generational thresholds.
"""

from __future__ import annotations

import gc

from PySide6.QtCore import QObject, QTimer

CHECK_INTERVAL_MS = 500


class GuiThreadGarbageCollector(QObject):
    def __init__(self, parent: QObject | None = None, interval_ms: int = CHECK_INTERVAL_MS):
        super().__init__(parent)
        self.thresholds = gc.get_threshold()
        self._was_enabled = gc.isenabled()
        gc.disable()
        self.timer = QTimer(self)
        self.timer.timeout.connect(self.check)
        self.timer.start(interval_ms)

    def check(self) -> None:
        """Collect the generations whose allocation counts passed their thresholds, as gc would."""
        counts = gc.get_count()
        generation = -1
        for level, (count, threshold) in enumerate(zip(counts, self.thresholds, strict=True)):
            if threshold and count > threshold:
                generation = level
            else:
                break
        if generation >= 0:
            gc.collect(generation)

    def stop(self) -> None:
        """Collect everything here, on the GUI thread, then give collection back to Python."""
        self.timer.stop()
        gc.collect()
        if self._was_enabled:
            gc.enable()
