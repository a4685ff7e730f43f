"""Start the desktop app: logging to the user's data folder, settings, the window, the model load."""

from __future__ import annotations

import logging
import logging.handlers
import sys
import traceback
from pathlib import Path

from PySide6.QtCore import QObject, QSettings, Signal
from PySide6.QtGui import QIcon
from PySide6.QtWidgets import QApplication, QMessageBox

from .. import __version__
from ..core.paths import app_icon_path
from ..core.security import AuditLog, User, open_store
from ..core.store import NoStoreError, StoreError
from .context import AppContext, LaunchOptions, log_file, settings_file
from .dialogs.login import LoginDialog
from .garbage import GuiThreadGarbageCollector
from .main_window import MainWindow
from .theme import STYLE_SHEET
from .workers import TaskRunner

log = logging.getLogger("sigverify.gui")


def app_icon() -> QIcon | None:
    """The sigverify icon (packaged in the wheel, or the checkout's assets/icons); None: Qt's default."""
    path = app_icon_path()
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
        if app is not None and issubclass(exc_type, StoreError):
            # e.g. the shared server went away during a read on the GUI thread: say that, plainly;
            # every change runs in one transaction, so nothing is half-written and no restart is needed
            from .errors import explain

            explanation = explain(exc)
            QMessageBox.warning(None, explanation.title, f"{explanation.text}\n\n{explanation.hint}")
        elif app is not None:
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


class Session(QObject):
    """Log in, work in the window, log out (File menu) and log in again, without restarting.

    Each login gets a fresh context and window, so nothing the previous user had on screen (a
    cheque, a customer, a batch) is left for the next one; the settings and the choices made in
    Settings carry over. ``ended`` fires when the login dialog is cancelled or the window closed.
    """

    window_changed = Signal(object)  # MainWindow, or None while the login dialog is up
    ended = Signal()

    def __init__(self, options: LaunchOptions, settings: QSettings | None = None,
                 size: tuple[int, int] = (1280, 800), parent: QObject | None = None):
        super().__init__(parent)
        self.options, self.settings, self.size = options, settings or open_settings(), size
        self.context: AppContext | None = None
        self.login: LoginDialog | None = None
        self.window: MainWindow | None = None
        self._switching = False

    def start(self, username: str = "") -> LoginDialog:
        """The login dialog (non-blocking); the window follows once the core accepted the password."""
        context = create_context(self.options, self.settings)  # StoreError: the caller says so
        dialog = LoginDialog(context.users, username, runner=context.runner)
        dialog.accepted.connect(lambda: self._logged_in(context, dialog))
        dialog.rejected.connect(lambda: self._cancelled(context, dialog))
        self.context, self.login = context, dialog
        dialog.open()
        return dialog

    def _logged_in(self, context: AppContext, dialog: LoginDialog) -> None:
        user = dialog.user
        log.info("%s (%s) logged in", user.username, user.role.value)
        window = create_window(context, user)
        window.log_out_requested.connect(self.log_out)
        window.closed.connect(self._window_closed)
        window.resize(*self.size)
        window.show()
        self.window, self.login = window, None
        dialog.deleteLater()
        self.window_changed.emit(window)

    def _cancelled(self, context: AppContext, dialog: LoginDialog) -> None:
        context.runner.shutdown()
        context.deleteLater()
        dialog.deleteLater()
        self.context = self.login = None
        self.ended.emit()

    def log_out(self) -> None:
        old = self.window
        if old is None:
            return
        user = old.context.user
        if user is not None:
            AuditLog(old.context.store).record(user.username, "logout", {"username": user.username})
            log.info("%s logged out", user.username)
        self.options = old.context.options  # a model or device chosen in Settings stays chosen
        self._switching = True
        try:
            # the login dialog first, then the window closes: the app never has no window at all
            self.start()
            old.close()  # shuts its task runner down and waits for its threads
        except StoreError as exc:
            log.error("cannot open the database again: %s", exc)
            QMessageBox.critical(old, "Database problem", str(exc))
            return
        finally:
            self._switching = False
        old.deleteLater()
        self.window = None
        self.window_changed.emit(None)

    def _window_closed(self) -> None:
        if not self._switching:
            self.window = None
            self.ended.emit()


def offer_new_database(missing: NoStoreError) -> bool:
    """A database chosen with --db or in Settings is not there: create one only if the user says so."""
    log.warning("no database at %s", missing.location)
    answer = QMessageBox.question(
        None, "No database there",
        f"There is no sigverify database at\n{missing.location}\n\nIf the path is mistyped, choose No and "
        "start sigverify with the right --db. Create a new, empty database there?",
        QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No, QMessageBox.StandardButton.No)
    return answer == QMessageBox.StandardButton.Yes


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
    session = Session(options)
    try:
        try:
            session.start(options.user or "")
        except NoStoreError as missing:
            if not offer_new_database(missing):
                return 7
            open_store(missing.url, create=True).engine.dispose()
            session.start(options.user or "")
    except StoreError as exc:
        log.error("cannot open the database: %s", exc)
        QMessageBox.critical(None, "Database problem", f"{exc}\n\nThe details are in {log_path}.")
        return 7
    # the session decides when the app ends: between a log out and the next login no window is up
    app.setQuitOnLastWindowClosed(False)
    session.ended.connect(app.quit)
    collector = GuiThreadGarbageCollector(app)
    try:
        return app.exec()
    finally:
        collector.stop()
