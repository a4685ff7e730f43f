"""Which database every sigverify program on this PC uses: one setting, never a password in it.

Where the store is, first found wins:
1. ``--db URL`` (one command) or the GUI's own Settings choice;
2. the environment variable ``SIGVERIFY_DB``;
3. the ``url`` in ``database.conf``: the file named by ``SIGVERIFY_DB_CONFIG``, else the user's
   config folder, else the machine's (``/etc/xdg/sigverify/database.conf`` on Linux,
   ``C:\\ProgramData\\sigverify\\database.conf`` on Windows): the one file a bank's IT deploys to
   point every clerk PC at its server;
4. SQLite in the user data folder.

The password is never part of a URL (a URL can end up on a command line, in shell history, in a
process list or in a log). It comes from ``SIGVERIFY_DB_PASSWORD``, from the ``password_file``
named in database.conf (refused unless only its owner can read it), from the system keyring
(``keyring = yes``, service ``sigverify-database``), or from PostgreSQL's own ways: ~/.pgpass,
Kerberos/SSPI, client certificates.
"""

from __future__ import annotations

import configparser
import os
import stat
from dataclasses import dataclass
from pathlib import Path

import platformdirs
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError

from .paths import default_database_file

DB_ENV = "SIGVERIFY_DB"
PASSWORD_ENV = "SIGVERIFY_DB_PASSWORD"
CONFIG_ENV = "SIGVERIFY_DB_CONFIG"
CONFIG_NAME = "database.conf"
KEYRING_SERVICE = "sigverify-database"


class DatabaseSettingError(ValueError):
    """The database setting cannot be used as written; the message says what to change."""


@dataclass(frozen=True)
class DatabaseSetting:
    url: str  # never with a password
    source: str  # where it came from, for messages: "--db", "SIGVERIFY_DB", a file path, "default"
    password_file: Path | None = None
    use_keyring: bool = False


def config_files() -> list[Path]:
    if os.environ.get(CONFIG_ENV):
        return [Path(os.environ[CONFIG_ENV]).expanduser()]
    return [Path(platformdirs.user_config_dir("sigverify", appauthor=False)) / CONFIG_NAME,
            Path(platformdirs.site_config_dir("sigverify", appauthor=False)) / CONFIG_NAME]


def default_sqlite_url() -> str:
    return f"sqlite:///{default_database_file()}"


def database_setting(explicit: str | None = None) -> DatabaseSetting:
    """The setting in force for this process (see the module text for the order)."""
    if explicit:
        return DatabaseSetting(_checked_url(explicit, "--db"), "--db")
    if os.environ.get(DB_ENV):
        return DatabaseSetting(_checked_url(os.environ[DB_ENV], DB_ENV), DB_ENV)
    for path in config_files():
        if path.is_file():
            return _read_config(path)
    if os.environ.get(CONFIG_ENV):
        raise DatabaseSettingError(f"{CONFIG_ENV} names {config_files()[0]}, which does not exist")
    return DatabaseSetting(default_sqlite_url(), "default")


def _read_config(path: Path) -> DatabaseSetting:
    parser = configparser.ConfigParser()
    try:
        parser.read(path, encoding="utf-8")
    except (configparser.Error, OSError, UnicodeDecodeError) as exc:
        raise DatabaseSettingError(f"cannot read the database setting {path}: {exc}") from exc
    if not parser.has_option("database", "url"):
        raise DatabaseSettingError(f"{path} has no 'url' in a [database] section")
    section = parser["database"]
    password_file = section.get("password_file")
    try:
        use_keyring = section.getboolean("keyring", fallback=False)
    except ValueError as exc:
        raise DatabaseSettingError(f"{path}: keyring must be yes or no") from exc
    return DatabaseSetting(_checked_url(section["url"], str(path)), str(path),
                           Path(password_file).expanduser() if password_file else None, use_keyring)


def _checked_url(url: str, source: str) -> str:
    try:
        parsed = make_url(url)
    except ArgumentError as exc:
        raise DatabaseSettingError(f"the database URL from {source} is not a URL sigverify understands "
                                   f"(e.g. postgresql+psycopg://clerk@server/sigverify): {exc}") from None
    if parsed.password is not None:
        # the password is NOT echoed back: only where it was found
        raise DatabaseSettingError(
            f"the database URL from {source} contains a password; a URL can be seen in process lists, shell "
            f"history and logs. Remove it from the URL and use {PASSWORD_ENV}, a password_file in "
            f"{CONFIG_NAME} (readable by its owner only), the keyring or ~/.pgpass (README, 'A shared "
            "PostgreSQL store')")
    return url


def connect_url(setting: DatabaseSetting) -> URL:
    """The URL to connect with: the setting's, plus the password from wherever it is kept."""
    url = make_url(setting.url)
    if url.get_backend_name() == "sqlite":
        return url
    if url.drivername == "postgresql":  # SQLAlchemy's default would be psycopg2, which is not installed
        url = url.set(drivername="postgresql+psycopg")
    password = os.environ.get(PASSWORD_ENV) or _password_from_file(setting.password_file) \
        or _password_from_keyring(setting, url)
    return url.set(password=password) if password else url  # else libpq's own: ~/.pgpass, Kerberos, certs


def _password_from_file(path: Path | None) -> str | None:
    if path is None:
        return None
    try:
        mode = path.stat().st_mode
        if os.name == "posix" and mode & (stat.S_IRWXG | stat.S_IRWXO):
            raise DatabaseSettingError(f"the password file {path} can be read by other users: "
                                       f"`chmod 600 {path}` first")
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise DatabaseSettingError(f"cannot read the password file {path}: {exc}") from exc
    return lines[0] if lines else None


def keyring_account(url: URL) -> str:
    return f"{url.username or ''}@{url.host or 'localhost'}:{url.port or ''}/{url.database or ''}"


def _password_from_keyring(setting: DatabaseSetting, url: URL) -> str | None:
    if not setting.use_keyring:
        return None
    import keyring
    from keyring.errors import KeyringError

    try:
        return keyring.get_password(KEYRING_SERVICE, keyring_account(url))
    except KeyringError as exc:
        raise DatabaseSettingError(f"the keyring cannot give the database password: {exc}") from exc
