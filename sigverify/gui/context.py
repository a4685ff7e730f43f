"""What the pages share: settings, the store, the engine, the signed-in user and their session.

The engine loads on the task runner (a real model takes a moment, and a missing one must
become a dialog, not a crash), so ``session`` is None until ``engine_ready`` fires. The session
(core.session) is the one the CLI uses too: pages act only through it.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

from PySide6.QtCore import QObject, QSettings, Signal

from ..core import extraction
from ..core.engine import Engine
from ..core.paths import user_config_folder, user_data_folder
from ..core.security import AuditLog, Permission, User, UserService, open_store
from ..core.session import Session, load_engine
from ..core.verify import Verifier
from .workers import TaskHandle, TaskRunner

log = logging.getLogger(__name__)


def log_file() -> Path:
    return user_data_folder() / "logs" / "sigverify-gui.log"


def settings_file() -> Path:
    return user_config_folder() / "gui.ini"


@dataclass(frozen=True)
class LaunchOptions:
    """The common command-line options; ``None`` means "use the saved setting or the default"."""

    db: str | None = None
    model: str | None = None
    device: str | None = None
    user: str | None = None  # a name to put in the login dialog


class AppContext(QObject):
    engine_ready = Signal(object)  # Engine
    engine_failed = Signal(object, str)  # exception, traceback
    thresholds_changed = Signal()
    customers_changed = Signal()
    user_changed = Signal(object)  # User

    def __init__(self, runner: TaskRunner, settings: QSettings, options: LaunchOptions | None = None,
                 parent: QObject | None = None):
        super().__init__(parent)
        self.runner = runner
        self.settings = settings
        self.options = options or LaunchOptions()
        # encrypted reference data, key checked: the same way the CLI opens it. Only the first start
        # creates the default database; a chosen one that is not there is an error (NoStoreError)
        self.store = open_store(self.db_url, create=self.db_url is None)
        self.users = UserService(self.store)
        self.user: User | None = None
        self.engine: Engine | None = None
        self.finder_notice: str | None = None   # the learned signature finder cannot be used: why
        self._verifier: Verifier | None = None
        self._session: Session | None = None
        self.engine_error: BaseException | None = None

    # --- choices: command line first, then what the user saved, then the default ---------
    @property
    def db_url(self) -> str | None:
        return self.options.db or self.settings.value("database/url") or None

    @property
    def model_path(self) -> str | None:
        return self.options.model or self.settings.value("model/path") or None

    @property
    def device(self) -> str:
        return self.options.device or str(self.settings.value("model/device", "auto"))

    # --- who is working ---------------------------------------------------------------
    def set_user(self, user: User) -> None:
        self.user = user
        self._session = None
        self.user_changed.emit(user)

    def can(self, permission: Permission) -> bool:
        """For greying out; the guard in the core enforces it anyway."""
        return self.user is not None and self.user.can(permission)

    @property
    def session(self) -> Session | None:
        """The signed-in user's session; None until someone signed in and the model loaded."""
        if self._verifier is None or self.user is None:
            return None
        if self._session is None:  # built once per user and model: it checks the model rule then
            self._session = Session(self._verifier, self.user)
        return self._session

    # --- engine -----------------------------------------------------------------------
    def load_engine(self, model_path: str | None = None, device: str | None = None) -> None:
        """Load (or reload) the model in the background; ``engine_ready``/``engine_failed`` tell the end."""
        path, dev = model_path or self.model_path, device or self.device
        store, user = self.store, self.user

        def work(_task: TaskHandle) -> tuple[Engine, Verifier, str | None]:
            engine = load_engine(store, path, dev)
            # the signature finder's network loads here too (off the GUI thread); None: it is in use
            notice = extraction.finder_notice()
            verifier = Verifier(engine, store, audit=AuditLog(store))
            if user is not None:  # the model changed since the references were made: they follow
                refreshed = Session(verifier, user).refresh_stale_embeddings()
                if refreshed:
                    log.info("re-embedded %d reference(s) for model %s", refreshed, verifier.model_version)
            return engine, verifier, notice

        self.runner.submit("engine", work, self._engine_loaded, self._engine_failed)

    def _engine_loaded(self, loaded: tuple[Engine, Verifier, str | None]) -> None:
        self.engine, self._verifier, self.finder_notice = loaded
        self._session = None
        self.engine_error = None
        self.engine_ready.emit(self.engine)

    def _engine_failed(self, exc: BaseException, details: str) -> None:
        self.engine_error = exc
        self.engine_failed.emit(exc, details)
