"""Start the desktop app: logging to the user's data folder, settings, the window, the model load."""

from __future__ import annotations

import logging
import logging.handlers
import sys
import traceback
from pathlib import Path

from PySide6.QtCore import QSettings
from PySide6.QtGui import QIcon
from PySide6.QtWidgets import QApplication, QMessageBox

from .. import __version__
from ..core.security import User
from ..core.store import StoreError
from .context import AppContext, LaunchOptions, log_file, settings_file
from .dialogs.login import LoginDialog
from .main_window import MainWindow
from .theme import STYLE_SHEET
from .workers import TaskRunner

log = logging.getLogger("sigverify.gui")


def app_icon() -> QIcon | None:
    """assets/icons/sigverify.svg from a source checkout; an installed wheel falls back to Qt's default."""
    path = Path(__file__).resolve().parents[2] / "assets" / "icons" / "sigverify.svg"
    return QIcon(str(path)) if path.is_file() else None


def setup_logging(path: Path | None = None) -> Path:
    """Details (tracebacks included) go to a rotating log file, never onto the clerk's screen."""
    path = path or log_file()
    path.parent.mkdir(parents=True, exist_ok=True)
    root = logging.getLogger("sigverify")
    if not any(isinstance(h, logging.handlers.RotatingFileHandler) for h in root.handlers):
        handler = logging.handlers.RotatingFileHandler(path, maxBytes=2_000_000, backupCount=3, encoding="utf-8")
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
        root.addHandler(handler)
        root.setLevel(logging.INFO)
        root.propagate = False  # the log file is the record; a GUI's console stays quiet
    return path


def open_settings(path: Path | None = None) -> QSettings:
    path = path or settings_file()
    path.parent.mkdir(parents=True, exist_ok=True)
    return QSettings(str(path), QSettings.Format.IniFormat)


def install_excepthook() -> None:
    """An unexpected error in a slot becomes a logged traceback and a plain message box."""

    def hook(exc_type, exc, tb) -> None:
        log.critical("unhandled error:\n%s", "".join(traceback.format_exception(exc_type, exc, tb)))
        app = QApplication.instance()
        if app is not None:
            QMessageBox.critical(None, "sigverify", "sigverify hit an unexpected problem and may need a restart.\n"
                                 f"The details are in {log_file()}.")

    sys.excepthook = hook


def create_context(options: LaunchOptions, settings: QSettings | None = None) -> AppContext:
    runner = TaskRunner()
    context = AppContext(runner, settings or open_settings(), options)
    runner.setParent(context)
    return context


def create_window(context: AppContext, user: User) -> MainWindow:
    """The window for a signed-in user; the model starts loading at once, the caller shows it."""
    context.set_user(user)
    window = MainWindow(context)
    context.setParent(window)
    context.load_engine()
    return window


def run(options: LaunchOptions, argv: list[str] | None = None) -> int:
    app = QApplication.instance() or QApplication(argv or sys.argv[:1])
    app.setApplicationName("sigverify")
    app.setApplicationVersion(__version__)
    app.setStyleSheet(STYLE_SHEET)
    icon = app_icon()
    if icon is not None:
        app.setWindowIcon(icon)
    log_path = setup_logging()
    install_excepthook()
    log.info("sigverify %s GUI starting (log %s)", __version__, log_path)
    try:
        context = create_context(options)
    except StoreError as exc:
        log.error("cannot open the database: %s", exc)
        QMessageBox.critical(None, "Database problem", f"{exc}\n\nThe details are in {log_path}.")
        return 7
    login = LoginDialog(context.users, options.user or "")
    if login.exec() != LoginDialog.DialogCode.Accepted or login.user is None:
        return 0
    log.info("%s (%s) logged in", login.user.username, login.user.role.value)
    window = create_window(context, login.user)
    window.resize(1280, 800)
    window.show()
    return app.exec()
