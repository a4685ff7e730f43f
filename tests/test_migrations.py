"""Versioned schema upgrades (Alembic) on SQLite and PostgreSQL: nothing a bank stored is lost.

``fixtures/store_schema2.db`` was written by sigverify as it was before Alembic (main at fede054,
schema 2): two users, three customers with two AES-GCM-encrypted references each (one removed
since), one verification and seven chained audit records. The key below is the test key it was
made with.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import func, select, text

from sigverify.core import migrations
from sigverify.core.security import AuditLog, UserService
from sigverify.core.security.crypto import AesGcmCipher
from sigverify.core.store import SCHEMA_VERSION, NewReference, Store, StoreError, audit_log, metadata

LEGACY = Path(__file__).parent / "fixtures" / "store_schema2.db"
LEGACY_KEY = bytes(range(32))
LEGACY_HEAD = "112edcf7528554b15cf59d82ff61accdbed617774476faab8f7ab9a3e421e44f"


def schema_differences(store: Store) -> list:
    with store.engine.connect() as conn:
        return compare_metadata(MigrationContext.configure(conn), metadata)


def test_a_new_store_is_built_by_the_migrations_and_matches_the_tables_in_code(any_db_url):
    store = Store(any_db_url)
    assert store.schema_version() == SCHEMA_VERSION == migrations.head_schema_version()
    with store.engine.connect() as conn:
        assert migrations.current_revision(conn) == migrations.head_revision()
    # a revision forgotten in store.py (or a table changed without a revision) shows up here
    assert schema_differences(store) == []
    Store(any_db_url)  # opening again changes nothing
    assert store.run(lambda c: c.execute(text("SELECT COUNT(*) FROM schema_version")).scalar()) == 1


def test_a_schema_2_store_from_before_alembic_upgrades_in_place_with_everything_in_it(tmp_path):
    path = tmp_path / "bank.db"
    shutil.copy(LEGACY, path)
    store = Store(f"sqlite:///{path}", cipher=AesGcmCipher(LEGACY_KEY, "the test key"))
    assert store.schema_version() == SCHEMA_VERSION
    assert schema_differences(store) == []
    check = AuditLog(store).verify()
    assert check.ok and check.records == 7 and check.head_hash == LEGACY_HEAD
    assert [c.customer_id for c in store.list_customers()] == ["C-0", "C-1", "C-2"]
    assert len(store.references_for("C-0", include_removed=True)) == 2
    assert [r.id for r in store.references_for("C-0")] == [2]  # the removal is kept too
    assert store.reference_images(3) == (b"image-1-0", b"png-1-0")  # decrypts with the same key
    assert store.references_for("C-2")[1].embedding[0] == 21.0
    assert store.verification(1).decision == "match"
    assert UserService(store).authenticate("clerk1", "clerk password 1").username == "clerk1"
    # and the upgraded store keeps working: new records chain on to the old ones
    store.add_references("C-9", [NewReference("n.png", "9" * 64, b"i", None, b"p", np.ones(8, np.float32))], "v")
    AuditLog(store).record("admin", "note", {"after": "upgrade"})
    assert AuditLog(store).verify().records == 8


def test_a_schema_2_server_store_from_before_alembic_upgrades_in_place(pg_url):
    # what sigverify before Alembic left on a server: the tables of schema 2 and schema_version
    # 1 and 2, no alembic_version; built here with revisions 0001-0002, then the stamp removed
    from alembic import command

    store = Store(pg_url)
    with store.engine.begin() as conn:
        command.downgrade(migrations._config(conn), "base")  # back to nothing ...
        command.upgrade(migrations._config(conn), "0002")  # ... and up to schema 2
        conn.execute(text("DROP TABLE alembic_version"))
        conn.execute(text("INSERT INTO schema_version VALUES (1), (2)"))
        conn.execute(text("INSERT INTO customers (customer_id, created_at) VALUES ('C-1', 'then')"))
        conn.execute(text("INSERT INTO audit_log (created_at, action, details, prev_hash, hash) "
                          "VALUES ('then', 'note', '{}', :g, 'h1')"), {"g": "0" * 64})
    upgraded = Store(pg_url)
    assert upgraded.schema_version() == SCHEMA_VERSION and schema_differences(upgraded) == []
    assert upgraded.get_customer("C-1") is not None
    assert upgraded.run(lambda c: c.execute(select(func.count()).select_from(audit_log)).scalar()) == 1


def test_a_store_from_a_newer_sigverify_is_refused_untouched(any_db_url):
    store = Store(any_db_url)
    store.run(lambda c: c.execute(text("UPDATE alembic_version SET version_num = '0099'")))
    with pytest.raises(StoreError, match="newer than this sigverify|unknown to this sigverify"):
        Store(any_db_url)
    assert store.run(lambda c: c.execute(text("SELECT version_num FROM alembic_version")).scalar()) == "0099"


def test_an_upgrade_that_fails_leaves_the_store_as_it_was(tmp_path):
    """A forked audit trail is evidence: revision 0003 refuses it and nothing is half-upgraded."""
    path = tmp_path / "forked.db"
    shutil.copy(LEGACY, path)
    import sqlite3

    with sqlite3.connect(path) as conn:
        conn.execute("UPDATE audit_log SET prev_hash = (SELECT prev_hash FROM audit_log WHERE id = 2) WHERE id = 3")
    with pytest.raises(StoreError, match="audit trail forks"):
        Store(f"sqlite:///{path}")
    with sqlite3.connect(path) as conn:
        assert conn.execute("SELECT MAX(version) FROM schema_version").fetchone()[0] == 2
        tables = {row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        assert "alembic_version" not in tables
