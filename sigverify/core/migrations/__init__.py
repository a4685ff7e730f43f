"""Versioned schema upgrades with Alembic, for SQLite and PostgreSQL alike.

``upgrade(conn)`` brings any store to the newest revision inside the caller's transaction: an
empty database gets every revision from 0001; a store made before Alembic (it has only the
``schema_version`` table, at 1 or 2) is first stamped with the revision it is at, then upgraded
in place, so no reference or audit record is touched. ``schema_version`` still gets the integer
of each revision: a sigverify from before Alembic opening a newer store says it is too new
instead of writing into a schema it does not know.

A new revision: copy versions/0003_*.py, set ``revision``, ``down_revision`` (the previous head)
and ``SCHEMA_VERSION`` (previous + 1), write ``upgrade()`` with ``op`` calls that work on both
databases (SQLite: ``op.batch_alter_table`` for anything beyond adding a column), and add the
same change to the tables in store.py; tests/test_migrations.py checks the two agree.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import func, insert, inspect, select, text
from sqlalchemy.engine import Connection

FOLDER = Path(__file__).resolve().parent
LEGACY_REVISIONS = {1: "0001", 2: "0002"}  # schema_version -> revision, for stores from before Alembic


class SchemaTooNewError(RuntimeError):
    """The store was upgraded by a newer sigverify; this one must not write into it."""


def _config(conn: Connection | None = None) -> Config:
    config = Config()
    config.set_main_option("script_location", str(FOLDER))
    config.attributes["connection"] = conn
    return config


@lru_cache(maxsize=1)
def _scripts() -> ScriptDirectory:
    return ScriptDirectory.from_config(_config())


def head_revision() -> str:
    return _scripts().get_current_head()


def head_schema_version() -> int:
    return _scripts().get_revision(head_revision()).module.SCHEMA_VERSION


def current_revision(conn: Connection) -> str | None:
    return MigrationContext.configure(conn).get_current_revision()


def _stamped_revision(conn: Connection) -> str | None:
    """The same as current_revision, read directly: Alembic's context logs on every start."""
    return conn.execute(text("SELECT version_num FROM alembic_version")).scalar()


def up_to_date(conn: Connection, schema_version_table) -> bool:
    if "alembic_version" not in inspect(conn).get_table_names():
        return False
    newest = conn.execute(select(func.max(schema_version_table.c.version))).scalar()
    return _stamped_revision(conn) == head_revision() and newest == head_schema_version()


def upgrade(conn: Connection, schema_version_table) -> None:
    """Upgrade in the caller's transaction; raises SchemaTooNewError for a store from a newer sigverify."""
    tables = set(inspect(conn).get_table_names())
    newest = conn.execute(select(func.max(schema_version_table.c.version))).scalar() \
        if "schema_version" in tables else None
    if newest is not None and newest > head_schema_version():
        raise SchemaTooNewError(f"schema {newest}, newer than this sigverify ({head_schema_version()})")
    revision = current_revision(conn)
    if revision is not None and revision not in {script.revision for script in _scripts().walk_revisions()}:
        raise SchemaTooNewError(f"schema revision {revision}, unknown to this sigverify ({head_revision()})")
    if revision == head_revision():
        return  # another program upgraded it a moment ago
    config = _config(conn)
    if revision is None and newest is not None:
        if newest not in LEGACY_REVISIONS:
            raise SchemaTooNewError(f"schema {newest} without a revision stamp; this sigverify knows 1 and 2")
        command.stamp(config, LEGACY_REVISIONS[newest])
    command.upgrade(config, "head")
    if (newest or 0) < head_schema_version():
        conn.execute(insert(schema_version_table).values(version=head_schema_version()))
