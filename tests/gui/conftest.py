"""GUI fixtures: a real MainWindow on an isolated database, settings file and model, offscreen.

``tests/conftest.py`` sets QT_QPA_PLATFORM=offscreen and isolates HOME/XDG folders; here every
test also gets its own QSettings file, and teardown checks that no worker thread is left.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from gui_helpers import CUSTOMER

from sigverify.core.engine import Engine
from sigverify.core.security import Role, UserService, accept_model, open_store
from sigverify.core.verify import Verifier
from sigverify.gui.app import create_context, create_window, open_settings
from sigverify.gui.context import LaunchOptions
from sigverify.gui.garbage import GuiThreadGarbageCollector
from sigverify.gui.main_window import MainWindow


@pytest.fixture
def gui_settings(tmp_path):
    return open_settings(tmp_path / "config" / "gui.ini")


@pytest.fixture
def registered(test_model, db_url, signature_files) -> str:
    """Customer C001 with two genuine references of writer A; C002 with writer B."""
    verifier = Verifier(Engine(test_model, device="cpu"), open_store(db_url))
    verifier.register(CUSTOMER, [signature_files["a0"], signature_files["a1"]], name="Alice Example", user="admin")
    verifier.register("C002", [signature_files["b0"]], name="Bob Other", user="admin")
    return CUSTOMER


ADMIN_PASSWORD = "admin-password"


@pytest.fixture(autouse=True)
def cheap_password_hashing(monkeypatch):
    """argon2 at its production cost takes a large part of a second per hash; the GUI tests do not test it."""
    from argon2 import PasswordHasher

    from sigverify.core.security import users

    monkeypatch.setattr(users, "_hasher", PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1))


@pytest.fixture
def admin(db_url):
    """The first administrator of the test store (created as on a first start)."""
    users = UserService(open_store(db_url))
    return users.get("admin") or users.create_first_administrator("admin", ADMIN_PASSWORD)


@pytest.fixture
def clerk(db_url, admin, test_model):
    store = open_store(db_url)
    # only administrators choose the model: a clerk runs the bundled one or a file they accepted
    accept_model(store, admin, test_model, reason="GUI tests")
    return UserService(store).add_user(admin, "clerk", "clerk-password", Role.CLERK)


@pytest.fixture(autouse=True)
def garbage_on_gui_thread(qapp):
    """As in the app: cyclic garbage (Qt objects of earlier tests among it) is collected on the GUI
    thread, never inside a worker thread, where destroying a Qt object crashes the process."""
    collector = GuiThreadGarbageCollector(qapp)
    yield collector
    collector.stop()


@pytest.fixture
def make_window(qtbot, test_model, db_url, gui_settings, admin):
    windows: list[MainWindow] = []

    def make(model: Path | str | None = None, wait_engine: bool = True, user=None) -> MainWindow:
        options = LaunchOptions(db=db_url, model=str(model or test_model), device="cpu")
        window = create_window(create_context(options, gui_settings), user or admin)
        qtbot.addWidget(window)
        window.resize(1280, 800)
        window.show()
        windows.append(window)
        if wait_engine:
            qtbot.waitUntil(lambda: window.context.engine is not None or window.context.engine_error is not None,
                            timeout=15_000)
        return window

    yield make
    for window in windows:
        window.close()  # closeEvent shuts the runner down and waits for its threads
        assert window.runner.pool.activeThreadCount() == 0, "a worker thread outlived the window"


@pytest.fixture
def window(make_window) -> MainWindow:
    return make_window()
