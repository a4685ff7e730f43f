"""Garbage holding Qt objects is collected on the GUI thread, never in a worker thread."""

from __future__ import annotations

import gc
import threading

from PySide6.QtCore import QObject

from sigverify.gui.garbage import GuiThreadGarbageCollector


class _Cycle(QObject):
    collected_in: list[str] = []

    def __init__(self):
        super().__init__()
        self.me = self  # a reference cycle: only the cyclic collector frees it

    def __del__(self):
        _Cycle.collected_in.append(threading.current_thread().name)


def test_automatic_collection_is_off_and_the_timer_collects_on_the_gui_thread(qtbot, qapp):
    enabled_before = gc.isenabled()  # the GUI fixtures already run one collector
    collector = GuiThreadGarbageCollector(qapp, interval_ms=10)
    try:
        assert not gc.isenabled()
        _Cycle.collected_in.clear()
        gc.collect()
        for _ in range(50):  # garbage cycles, below generation 0's threshold
            _Cycle()
        # a worker that allocates containers crosses the threshold: with automatic collection on,
        # the cycles above would be destroyed right here, in the worker thread
        worker = threading.Thread(target=lambda: [[] for _ in range(5000)], name="worker")
        worker.start()
        worker.join()
        assert _Cycle.collected_in == []  # the worker's allocations did not trigger a collection
        live = [[] for _ in range(2 * gc.get_threshold()[0])]  # past the threshold for the timer to act
        qtbot.waitUntil(lambda: len(_Cycle.collected_in) > 0, timeout=2000)
        assert set(_Cycle.collected_in) == {threading.main_thread().name}
        del live
    finally:
        collector.stop()
    assert gc.isenabled() == enabled_before  # collection handed back as it was
