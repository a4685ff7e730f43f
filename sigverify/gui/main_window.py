"""The main window: navigation on the left, one page at a time, model and device in the status bar."""

from __future__ import annotations

from PySide6.QtCore import QByteArray, Qt, Signal
from PySide6.QtGui import QAction, QCloseEvent, QKeySequence
from PySide6.QtWidgets import QHBoxLayout, QLabel, QListWidget, QMainWindow, QMessageBox, QStackedWidget, QWidget

from .. import __version__
from ..core.security import Permission
from .context import AppContext
from .errors import ErrorReporter
from .pages.base import Page
from .pages.verify_page import VerifyPage


class MainWindow(QMainWindow):
    log_out_requested = Signal()  # File > Log out: the app's Session closes this window and asks for a login
    closed = Signal()

    def __init__(self, context: AppContext):
        super().__init__()
        self.context = context
        self.runner = context.runner
        self.errors = ErrorReporter(self)
        self.setWindowTitle("sigverify — signature verification")
        self.pages: dict[str, Page] = {}
        self._build()
        self._build_actions()
        self._build_status_bar()
        context.engine_ready.connect(self._engine_ready)
        context.engine_failed.connect(self._engine_failed)
        context.user_changed.connect(self._user_changed)
        if context.user is not None:
            self._user_changed(context.user)
        geometry = context.settings.value("window/geometry")
        if isinstance(geometry, QByteArray):
            self.restoreGeometry(geometry)

    def _build(self) -> None:
        central = QWidget()
        layout = QHBoxLayout(central)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        self.navigation = QListWidget()
        self.navigation.setObjectName("navigation")
        self.navigation.setFixedWidth(170)
        self.navigation.setAccessibleName("Pages")
        self.stack = QStackedWidget()
        layout.addWidget(self.navigation)
        layout.addWidget(self.stack, 1)
        self.setCentralWidget(central)
        self.add_page("verify", "Verify", VerifyPage(self.context, self.errors))
        for name, label, factory in self._optional_pages():
            self.add_page(name, label, factory(self.context, self.errors))
        self.navigation.currentRowChanged.connect(self._page_changed)
        self.navigation.setCurrentRow(0)
        self.pages["users"].own_account_changed.connect(self._own_account_changed)

    def _optional_pages(self):
        from .pages.batch_page import BatchPage
        from .pages.customers_page import CustomersPage
        from .pages.settings_page import SettingsPage
        from .pages.users_page import UsersPage

        return [("customers", "Customers", CustomersPage), ("batch", "Batch", BatchPage),
                ("settings", "Settings", SettingsPage), ("users", "Users", UsersPage)]

    def add_page(self, name: str, label: str, page: Page) -> None:
        self.pages[name] = page
        self.stack.addWidget(page)
        self.navigation.addItem(label)

    def show_page(self, name: str) -> None:
        row = list(self.pages).index(name)
        if not self.navigation.item(row).isHidden():
            self.navigation.setCurrentRow(row)

    def current_page_name(self) -> str:
        return list(self.pages)[self.stack.currentIndex()]

    def _page_changed(self, row: int) -> None:
        if row < 0:
            return
        page = list(self.pages.values())[row]
        self.stack.setCurrentWidget(page)
        page.on_shown()

    def _build_actions(self) -> None:
        file_menu = self.menuBar().addMenu("&File")
        verify: VerifyPage = self.pages["verify"]  # type: ignore[assignment]
        open_action = QAction("&Open cheque…", self, shortcut=QKeySequence.StandardKey.Open)
        open_action.triggered.connect(lambda: (self.show_page("verify"), verify.open_file()))
        paste_action = QAction("&Paste cheque", self, shortcut=QKeySequence.StandardKey.Paste)
        # a text field that has focus keeps Ctrl+V for itself (Qt's shortcut override)
        paste_action.triggered.connect(lambda: (self.show_page("verify"), verify.paste()))
        quit_action = QAction("&Quit", self, shortcut=QKeySequence("Ctrl+Q"))
        quit_action.triggered.connect(self.close)
        log_out_action = QAction("&Log out / switch user…", self, shortcut=QKeySequence("Ctrl+L"))
        log_out_action.triggered.connect(self.log_out_requested)
        for action in (open_action, paste_action):
            file_menu.addAction(action)
        file_menu.addSeparator()
        file_menu.addAction(log_out_action)
        file_menu.addAction(quit_action)
        go_menu = self.menuBar().addMenu("&Go")
        for number, (name, page) in enumerate(self.pages.items(), start=1):
            action = QAction(self.navigation.item(number - 1).text(), self, shortcut=QKeySequence(f"Ctrl+{number}"))
            action.triggered.connect(lambda _=False, n=name: self.show_page(n))
            go_menu.addAction(action)
            page.setProperty("shortcut", f"Ctrl+{number}")
        help_menu = self.menuBar().addMenu("&Help")
        about = QAction("&About sigverify", self, shortcut=QKeySequence.StandardKey.HelpContents)
        about.triggered.connect(self.about)
        help_menu.addAction(about)
        self.actions_by_name = {"open": open_action, "paste": paste_action, "quit": quit_action, "about": about,
                                "log_out": log_out_action}

    def _build_status_bar(self) -> None:
        bar = self.statusBar()
        self.model_label = QLabel("Loading the signature model…")
        self.device_label = QLabel("")
        self.fallback_label = QLabel("")
        self.fallback_label.setObjectName("fallbackNote")
        self.finder_label = QLabel("")
        self.finder_label.setObjectName("fallbackNote")
        self.user_label = QLabel("")
        self.user_label.setObjectName("userLabel")
        for label in (self.model_label, self.device_label, self.fallback_label, self.finder_label):
            label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
            bar.addWidget(label)
        bar.addPermanentWidget(self.user_label)

    def _engine_ready(self, engine) -> None:
        meta = engine.metadata
        self.model_label.setText(f"Model {meta.version} ({engine.path.name})")
        providers = ", ".join(p.replace("ExecutionProvider", "") for p in engine.providers)
        self.device_label.setText(f"Running on {engine.device_label} · providers in use: {providers}")
        self.device_label.setToolTip(", ".join(engine.providers))
        # short in the status bar, the whole sentence (what is missing) in the tooltip and Settings
        self.fallback_label.setText("CUDA not available: using the CPU" if engine.fallback_message else "")
        self.fallback_label.setToolTip(engine.fallback_message or "")
        notice = self.context.finder_notice
        self.finder_label.setText("Signature finder: rules only" if notice else "")
        self.finder_label.setToolTip(notice or "")

    def _engine_failed(self, exc: BaseException, details: str) -> None:
        self.model_label.setText("No signature model loaded")
        self.device_label.setText("")
        self.errors.report(exc, details, action="load model")

    def _user_changed(self, user) -> None:
        self.user_label.setText(f"Logged in as {user.username} ({user.role.label})")
        # clerks do not manage customers or users; the core refuses it anyway
        for name, permission in (("customers", Permission.REGISTER), ("users", Permission.MANAGE_USERS)):
            self.navigation.item(list(self.pages).index(name)).setHidden(not user.can(permission))
        if self.navigation.currentItem() is not None and self.navigation.currentItem().isHidden():
            self.navigation.setCurrentRow(0)  # a role change took this page away

    def _own_account_changed(self, user) -> None:
        """The administrator changed their own account on the Users page: as the store now says."""
        self.context.set_user(user)  # disabled: every page's actions are refused from now on
        if user.disabled:
            self.log_out_requested.emit()

    def about(self) -> None:
        engine = self.context.engine
        model = f"model {engine.metadata.version} on {engine.device_label}" if engine else "no model loaded"
        QMessageBox.about(self, "About sigverify",
                          f"<b>sigverify {__version__}</b><br>Offline handwritten-signature verification."
                          f"<br>{model}<br>Database: {self.context.store.location}")

    def closeEvent(self, event: QCloseEvent) -> None:
        self.context.settings.setValue("window/geometry", self.saveGeometry())
        self.runner.shutdown()  # no thread may outlive the window
        super().closeEvent(event)
        self.closed.emit()
