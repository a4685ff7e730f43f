"""Batch page: a folder through the core pipeline, progress, cancel, review order, filter, export."""

from __future__ import annotations

import csv
import functools
import shutil
import threading

from gui_helpers import CUSTOMER, drop_files, wait_idle

from sigverify.core import batch as core_batch
from sigverify.core import session as core_session


def _folder(tmp_path, signature_files, copies: int = 1):
    folder = tmp_path / "incoming"
    folder.mkdir()
    for n in range(copies):
        shutil.copy(signature_files["a2"], folder / f"{CUSTOMER}_{n}_genuine.png")
        shutil.copy(signature_files["b0"], folder / f"{CUSTOMER}_{n}_other.png")
        shutil.copy(signature_files["blank"], folder / f"{CUSTOMER}_{n}_blank.png")
    shutil.copy(signature_files["a0"], folder / "C404_unknown.png")
    return folder


def test_batch_folder_runs_and_orders_for_review(qtbot, registered, window, signature_files, tmp_path):
    page = window.pages["batch"]
    window.show_page("batch")
    enter, drop = drop_files(page.drop_zone, [_folder(tmp_path, signature_files)])
    assert drop.isAccepted() and page.source.text().endswith("incoming")
    page.workers.setValue(0)  # in-process: no spawn start-up in the tests
    page.start_button.click()
    wait_idle(qtbot, window, timeout=30_000)
    assert page.outcome is not None and not page.outcome.summary.interrupted
    assert page.model.rowCount() == 4
    assert page.progress.value() == 4 and "4 of 4" in page.progress.format()
    # review order: whatever needs a person first (could-not-be-verified above refer), matches last
    kinds = [page.proxy.index(r, 4).data() for r in range(page.proxy.rowCount())]
    rank = {"No match": 0, "Not verified": 1, "Refer": 2, "Match": 3}
    ranks = [rank[next(word for word in rank if kind.endswith(word))] for kind in kinds]
    assert ranks == sorted(ranks), kinds
    assert page.model.thumbnails  # crops shown beside verified items
    page.filter_kind.setCurrentText("Could not be verified")
    assert page.proxy.rowCount() == 2  # blank page, unknown customer
    page.filter_kind.setCurrentText("All items")
    page.filter_text.setText("unknown")
    assert page.proxy.rowCount() == 1
    out = tmp_path / "report.csv"
    page.export_to(out)
    wait_idle(qtbot, window)
    rows = list(csv.DictReader(out.open()))
    assert len(rows) == 4


def test_batch_cancel_stops_and_keeps_whole_batches(qtbot, registered, window, signature_files, tmp_path,
                                                    monkeypatch):
    page = window.pages["batch"]
    page.set_source(str(_folder(tmp_path, signature_files, copies=6)))
    page.workers.setValue(0)
    # hold the pipeline after its first item until the test pressed Cancel
    gate, calls = threading.Event(), []

    def slow_prepare(item, params=None):
        calls.append(item.key)
        if len(calls) == 2:
            gate.wait(10)
        return core_batch.prepare_item(item, params)

    # the page drives the core's BatchRunner (through the session); only its per-item step is slowed down here
    monkeypatch.setattr(core_session, "BatchRunner", functools.partial(core_batch.BatchRunner, prepare=slow_prepare))
    page.start_button.click()
    qtbot.waitUntil(lambda: len(calls) >= 2, timeout=10_000)
    assert page.cancel_button.isEnabled()
    page.cancel_button.click()
    gate.set()
    wait_idle(qtbot, window, timeout=30_000)
    assert page.outcome.summary.interrupted
    assert page.outcome.summary.processed < 19
    assert "Cancelled" in page.status.text()
    assert page.start_button.isEnabled() and not page.cancel_button.isEnabled()


def test_batch_bad_source_is_a_dialog(qtbot, window, tmp_path):
    page = window.pages["batch"]
    bogus = tmp_path / "notes.txt"
    bogus.write_text("hello")
    page.set_source(str(bogus))
    page.start_button.click()
    wait_idle(qtbot, window)
    assert window.errors.last is not None
    assert "Traceback" not in window.errors.last.text
    assert page.start_button.isEnabled()


def test_batch_x9_file_maps_by_account(qtbot, registered, window, datasets):
    x9 = datasets / "cheques" / "x9" / "moov-valid-ascii.x937"
    if not x9.is_file():
        import pytest

        pytest.skip(f"{x9} not present")
    page = window.pages["batch"]
    drop_files(page.drop_zone, [x9])
    assert page.mapping_choice() == "accounts"  # an X9 file carries each cheque's account
    page.workers.setValue(0)
    page.start_button.click()
    wait_idle(qtbot, window, timeout=30_000)
    assert page.outcome is not None and page.outcome.summary.kind == "x9"
    assert page.model.rowCount() >= 1
    assert all(r.error and "account" in r.error for r in page.model.results)  # nobody holds that account


def test_errors_sort_above_refer_and_thumbnails_show_the_whole_signature(qtbot, window):
    from PySide6.QtCore import Qt
    from PySide6.QtGui import QPixmap

    from sigverify.core.batch import ItemResult

    page = window.pages["batch"]
    rows = [ItemResult(f"{kind}.png", f"{kind}.png", "C001", score, decision, None, None, error, {})
            for kind, score, decision, error in (("match", 0.95, "match", None), ("refer", 0.5, "refer", None),
                                                 ("blank", None, None, "no ink on the image"),
                                                 ("nomatch", 0.1, "no_match", None))]
    wide = QPixmap(320, 60)  # a long signature, as the batch keeps its crops
    wide.fill(Qt.GlobalColor.black)
    page.model.set_results(rows, {"refer.png": wide})
    page.table.sortByColumn(4, Qt.SortOrder.AscendingOrder)
    order = [page.proxy.index(r, 1).data() for r in range(page.proxy.rowCount())]
    assert order == ["nomatch.png", "blank.png", "refer.png", "match.png"]
    refer_row = order.index("refer.png")
    shown = page.proxy.index(refer_row, 0).data(Qt.ItemDataRole.DecorationRole)
    cell = page.table.visualRect(page.proxy.index(refer_row, 0))
    assert shown.width() <= cell.width() and shown.height() <= cell.height()  # nothing clipped
    assert abs(shown.width() / shown.height() - 320 / 60) < 0.1  # the whole signature, not squashed


def test_customer_choice_in_words_uses_the_file_name_and_previews_before_the_run(qtbot, registered, window,
                                                                                 signature_files, tmp_path):
    page = window.pages["batch"]
    window.show_page("batch")
    day = tmp_path / "scans" / "day_2026-12-02"
    day.mkdir(parents=True)
    shutil.copy(signature_files["a2"], day / f"{CUSTOMER}_g9.png")
    assert page.mapping.currentText() == "Customer ID before the first _ in the file name"
    assert not page.pattern.isVisibleTo(page)  # the regular expression is the advanced choice only
    page.set_source(str(tmp_path / "scans"))
    wait_idle(qtbot, window)
    assert f"{CUSTOMER}_g9.png  →  {CUSTOMER} (Alice Example)" in page.preview.text()
    assert "day" not in page.preview.text().split("→")[1]
    assert page.outcome is None  # a preview, not a run
    page.workers.setValue(0)
    page.start_button.click()
    wait_idle(qtbot, window, timeout=30_000)
    assert [r.customer_id for r in page.outcome.results] == [CUSTOMER]
    page.set_mapping("pattern")
    assert page.pattern.isVisibleTo(page)
    page.pattern.setText("(?P<customer>no group close")
    page.refresh_preview()
    wait_idle(qtbot, window)
    assert "not a valid regular expression" in page.preview.text()


def test_an_unsigned_cheque_row_says_why_it_is_referred(qtbot, window):
    from sigverify.core.batch import ItemResult

    page = window.pages["batch"]
    why = "no signature found on the cheque: a person must check it"
    rows = [ItemResult("unsigned.png", "unsigned.png", "C001", None, "refer", None, None, None, {"reason": why}),
            ItemResult("blank.png", "blank.png", "C001", None, None, None, None, "no ink on the image", {})]
    page.model.set_results(rows, {})
    problems = {page.proxy.index(r, 1).data(): page.proxy.index(r, 5).data() for r in range(page.proxy.rowCount())}
    assert problems == {"unsigned.png": why, "blank.png": "no ink on the image"}
    page.filter_text.setText("no signature found")       # the filter searches the reasons too
    assert page.proxy.rowCount() == 1
    page.filter_text.setText("")
