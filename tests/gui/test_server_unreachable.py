"""A clerk PC on a shared PostgreSQL server that goes away: a plain message, nothing half-written,
the window stays usable and works again once the server is back."""

from __future__ import annotations

import pytest
from gui_helpers import CUSTOMER, drop_files, wait_idle
from PySide6.QtCore import Qt
from sqlalchemy import func, select

from sigverify.core.security import AuditLog, open_store
from sigverify.core.store import verifications


@pytest.fixture
def db_url(pg_store_url) -> str:
    return pg_store_url  # every fixture of the GUI tests (store, users, window) on the server


def test_server_unreachable_while_verifying(qtbot, registered, window, signature_files, pg_server, pg_url):
    page = window.pages["verify"]
    page.customer.setText(CUSTOMER)
    pg_server.stop()
    try:
        drop_files(page.drop_zone, [signature_files["a2"]])
        qtbot.keyClick(page.customer, Qt.Key.Key_Return)
        wait_idle(qtbot, window, timeout=60_000)
        last = window.errors.last
        assert last is not None and last.title == "Database server unreachable", last
        assert "Nothing was saved" in last.hint and "cannot be reached" in last.text
        assert "Traceback" not in window.errors.dialog.text() + window.errors.dialog.informativeText()
        assert page.banner.decision is None  # no decision shown that was not recorded
        assert window.isVisible()
        window.errors.dialog.close()
    finally:
        pg_server.restart()
    window.errors.last = None
    qtbot.keyClick(page.customer, Qt.Key.Key_Return)  # the clerk tries again: no restart needed
    wait_idle(qtbot, window, timeout=60_000)
    assert window.errors.last is None, window.errors.last
    result = page.outcome.result
    assert result is not None and result.record_id is not None
    store = open_store(pg_url)
    assert store.run(lambda c: c.execute(select(func.count()).select_from(verifications)).scalar()) == 1
    assert AuditLog(store).verify().ok
