"""What the pages share: settings, the store, the engine and verifier, the signed-in user.

The engine loads on the task runner (a real model takes a moment, and a missing one must
become a dialog, not a crash), so ``verifier`` is None until ``engine_ready`` fires.
"""

from __future__ import annotations

import getpass
import logging
import os
from dataclasses import dataclass
from pathlib import Path

import platformdirs
from PySide6.QtCore import QObject, QSettings, Signal

from ..core.engine import Engine
from ..core.store import Store
from ..core.verify import Verifier
from .workers import TaskHandle, TaskRunner

log = logging.getLogger(__name__)

ADMINISTRATOR = "administrator"
CLERK = "clerk"


def data_folder() -> Path:
    """The user's sigverify data folder (database, logs, exports)."""
    return Path(platformdirs.user_data_dir("sigverify", appauthor=False))


def log_file() -> Path:
    return data_folder() / "logs" / "sigverify-gui.log"


def settings_file() -> Path:
    return Path(platformdirs.user_config_dir("sigverify", appauthor=False)) / "gui.ini"


@dataclass(frozen=True)
class User:
    name: str
    role: str

    @property
    def is_admin(self) -> bool:
        return self.role == ADMINISTRATOR


@dataclass(frozen=True)
class LaunchOptions:
    """The common command-line options; ``None`` means "use the saved setting or the default"."""

    db: str | None = None
    model: str | None = None
    device: str | None = None


class AppContext(QObject):
    engine_ready = Signal(object)  # Engine
    engine_failed = Signal(object, str)  # exception, traceback
    thresholds_changed = Signal()
    customers_changed = Signal()
    user_changed = Signal(object)  # User

    def __init__(self, runner: TaskRunner, settings: QSettings, options: LaunchOptions | None = None,
                 user: User | None = None, parent: QObject | None = None):
        super().__init__(parent)
        self.runner = runner
        self.settings = settings
        self.options = options or LaunchOptions()
        self.store = Store(self.db_url)
        self.engine: Engine | None = None
        self.verifier: Verifier | None = None
        self.engine_error: BaseException | None = None
        # without the security service every local user is an administrator, as with the CLI
        self.user = user or User(os.environ.get("SIGVERIFY_USER") or getpass.getuser(), ADMINISTRATOR)

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

    def set_user(self, user: User) -> None:
        self.user = user
        self.user_changed.emit(user)

    # --- engine -----------------------------------------------------------------------
    def load_engine(self, model_path: str | None = None, device: str | None = None) -> None:
        """Load (or reload) the model in the background; ``engine_ready``/``engine_failed`` tell the end."""
        path, dev = model_path or self.model_path, device or self.device
        store = self.store

        def work(_task: TaskHandle) -> tuple[Engine, Verifier]:
            engine = Engine(path, device=dev)
            verifier = Verifier(engine, store)
            refreshed = verifier.refresh_stale_embeddings()  # the model changed: references follow
            if refreshed:
                log.info("re-embedded %d reference(s) for model %s", refreshed, verifier.model_version)
            return engine, verifier

        self.runner.submit("engine", work, self._engine_loaded, self._engine_failed)

    def _engine_loaded(self, loaded: tuple[Engine, Verifier]) -> None:
        self.engine, self.verifier = loaded
        self.engine_error = None
        self.engine_ready.emit(self.engine)

    def _engine_failed(self, exc: BaseException, details: str) -> None:
        self.engine_error = exc
        self.engine_failed.emit(exc, details)
