"""Online backup of a SQLite store (consistent while others read and write), audited."""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path

from ..store import Store, StoreError
from .audit import AuditLog
from .roles import Permission, User, require


def integrity_check(path: str | Path) -> str:
    """SQLite's own full check of a database file: "ok" or the first problems it found."""
    conn = sqlite3.connect(f"file:{Path(path)}?mode=ro", uri=True)
    try:
        return "; ".join(row[0] for row in conn.execute("PRAGMA integrity_check").fetchall())
    finally:
        conn.close()


def backup_database(store: Store, destination: str | Path, actor: User, overwrite: bool = False) -> Path:
    """Copy the whole store with SQLite's online backup API, check the copy, then audit it.

    Written to a temporary name first and renamed, so a failed backup never replaces a good one.
    The encryption key is NOT in the copy: back it up separately (README).
    """
    require(actor, Permission.BACKUP)
    if store.engine.dialect.name != "sqlite":
        raise StoreError("sigverify backup copies SQLite files; back up a server database with its own tools")
    destination = Path(destination)
    if destination.exists() and not overwrite:
        raise StoreError(f"{destination} exists already; choose another name or pass --force")
    if destination.is_dir():
        raise StoreError(f"{destination} is a folder; give a file name")
    partial = destination.with_name(destination.name + ".partial")
    try:
        destination.parent.mkdir(parents=True, exist_ok=True)
        _copy(store, partial)
    except OSError as exc:
        raise StoreError(f"cannot write the backup {destination}: {exc.strerror or exc}") from exc
    result = integrity_check(partial)
    if result != "ok":
        partial.unlink(missing_ok=True)
        raise StoreError(f"the backup copy failed its integrity check ({result}); nothing was replaced")
    os.replace(partial, destination)
    AuditLog(store).record(actor.username, "backup", {"path": str(destination),
                                                      "bytes": destination.stat().st_size})
    return destination


def _copy(store: Store, partial: Path) -> None:
    partial.unlink(missing_ok=True)
    raw = store.engine.raw_connection()
    target = None
    try:
        target = sqlite3.connect(str(partial))
        raw.driver_connection.backup(target)  # copies page by page; concurrent writers restart it
        target.execute("PRAGMA journal_mode=DELETE")  # one self-contained file, no -wal beside it
    except sqlite3.Error as exc:
        partial.unlink(missing_ok=True)
        raise StoreError(f"backup to {partial.parent} failed: {exc}") from exc
    finally:
        if target is not None:
            target.close()
        raw.close()
