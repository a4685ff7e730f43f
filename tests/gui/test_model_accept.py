"""Settings: a model file that does not match its card; an administrator accepts it (audited), a clerk is refused."""

from __future__ import annotations

import hashlib
import json
import shutil

import pytest
from gui_helpers import wait_idle
from PySide6.QtCore import QPoint, Qt

from sigverify.core.model_trust import sha256_file
from sigverify.core.security import AuditLog, Role, UserService, accepted_models, open_store


@pytest.fixture
def mismatched_model(tmp_path, test_model):
    """The test model beside a card that names another file's SHA-256 (as after a swap or a re-export)."""
    folder = tmp_path / "models"
    folder.mkdir()
    path = folder / "swapped.onnx"
    shutil.copyfile(test_model, path)
    expected = hashlib.sha256(b"the file the card was written for").hexdigest()
    path.with_name(path.name + ".card.json").write_text(json.dumps({"sha256": expected, "version": "test-1"}))
    return path, expected


def _settings_with_problem(qtbot, window):
    assert window.context.engine is None and window.errors.last.title == "Model not available"
    window.errors.dialog.close()  # the load error, said at start; now go and fix it
    item = window.navigation.item(list(window.pages).index("settings"))
    qtbot.mouseClick(window.navigation.viewport(), Qt.MouseButton.LeftButton,
                     pos=window.navigation.visualItemRect(item).center())
    page = window.pages["settings"]
    assert window.current_page_name() == "settings"
    wait_idle(qtbot, window)
    assert page.accept_model_button.isVisible()
    return page


def test_admin_accepts_mismatched_model(qtbot, make_window, mismatched_model, db_url):
    path, expected = mismatched_model
    digest = sha256_file(path)
    window = make_window(model=path)
    page = _settings_with_problem(qtbot, window)
    problem = page.model_problem.text()
    assert digest[:16] in problem and expected[:16] in problem

    qtbot.mouseClick(page.accept_model_button, Qt.MouseButton.LeftButton)
    dialog = page.dialog
    assert dialog.isVisible()
    assert dialog.file_hash.text().replace(" ", "") == digest and dialog.card_hash.text().replace(" ", "") == expected
    qtbot.keyClick(dialog, Qt.Key.Key_Escape)  # cancelled: nothing is accepted
    assert not dialog.isVisible() and not accepted_models(open_store(db_url))

    qtbot.mouseClick(page.accept_model_button, Qt.MouseButton.LeftButton)
    dialog = page.dialog
    assert not dialog.accept_button.isEnabled()  # not before the administrator says they checked
    qtbot.keyClicks(dialog.reason, "re-exported by IT")
    qtbot.mouseClick(dialog.checked, Qt.MouseButton.LeftButton, pos=QPoint(8, dialog.checked.height() // 2))
    assert dialog.checked.isChecked() and dialog.accept_button.isEnabled()
    qtbot.mouseClick(dialog.accept_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: window.context.engine is not None, timeout=15_000)
    wait_idle(qtbot, window)
    assert window.context.engine.check.accepted
    assert "accepted" in page.model_card.text() and not page.accept_model_button.isVisible()
    assert "test-1" in window.model_label.text()
    [record] = list(AuditLog(open_store(db_url)).records(actions=("accept_model",)))
    assert record.user == "admin" and record.details["sha256"] == digest
    assert record.details["reason"] == "re-exported by IT" and record.details["card_sha256"] == expected


def test_clerk_is_refused_with_the_reason(qtbot, make_window, mismatched_model, db_url, admin):
    path, _expected = mismatched_model
    clerk = UserService(open_store(db_url)).add_user(admin, "clara", "clerk-password", Role.CLERK)
    window = make_window(model=path, user=clerk)
    page = _settings_with_problem(qtbot, window)
    assert "Only an administrator" in page.model_problem.text()
    qtbot.mouseClick(page.accept_model_button, Qt.MouseButton.LeftButton)
    wait_idle(qtbot, window)
    assert page.dialog is None  # no confirmation to offer: the core refused
    assert window.errors.last.title == "Not allowed"
    assert "clara" in window.errors.last.text and "administrator" in window.errors.last.text
    assert not accepted_models(open_store(db_url)) and window.context.engine is None


def test_admin_accepts_a_chosen_model_for_clerks(qtbot, make_window, test_model, db_url, admin):
    """Not the bundled model: it runs for administrators, clerks need it accepted; Settings says so and does it."""
    window = make_window()
    assert window.context.engine is not None
    window.show_page("settings")
    page = window.pages["settings"]
    wait_idle(qtbot, window)
    assert page.accept_model_button.isVisible() and "not the bundled model" in page.model_problem.text()
    qtbot.mouseClick(page.accept_model_button, Qt.MouseButton.LeftButton)
    dialog = page.dialog
    assert "no card" in dialog.card_hash.text()
    qtbot.mouseClick(dialog.checked, Qt.MouseButton.LeftButton, pos=QPoint(8, dialog.checked.height() // 2))
    qtbot.mouseClick(dialog.accept_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: not page.accept_model_button.isVisible() and not window.runner.is_busy(), timeout=15_000)
    assert set(accepted_models(open_store(db_url))) == {sha256_file(test_model)}
    clerk = UserService(open_store(db_url)).add_user(admin, "clara", "clerk-password", Role.CLERK)
    assert make_window(user=clerk).context.session is not None  # the clerk may run it now
