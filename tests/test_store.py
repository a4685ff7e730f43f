"""Store: schema, customers, references all-or-nothing, soft removal, locks."""

from __future__ import annotations

import sqlite3

import numpy as np
import pytest

from sigverify.core.store import SCHEMA_VERSION, NewReference, Store, StoreError, UnknownCustomerError


def _ref(i: int) -> NewReference:
    return NewReference(f"f{i}.png", f"{i:064d}", b"bytes%d" % i, None, b"png", np.full(4, i, np.float32))


def test_schema_created_and_reopened(db_url):
    assert Store(db_url).schema_version() == SCHEMA_VERSION
    assert Store(db_url).schema_version() == SCHEMA_VERSION  # migrate twice is a no-op


def test_newer_schema_refused(db_url):
    store = Store(db_url)
    store.run(lambda c: c.exec_driver_sql("INSERT INTO schema_version VALUES (99)"))
    with pytest.raises(StoreError, match="newer"):
        Store(db_url)


def test_customers_and_references(db_url):
    store = Store(db_url)
    ids = store.add_references("C-1", [_ref(1), _ref(2)], "v1", user="admin", name="Ada Lovelace")
    assert len(ids) == 2
    [customer] = store.list_customers("ada")
    assert customer.customer_id == "C-1" and customer.reference_count == 2
    refs = store.references_for("C-1")
    assert [r.embedding[0] for r in refs] == [1.0, 2.0]
    store.remove_reference(ids[0], "admin", "poor scan")
    assert [r.id for r in store.references_for("C-1")] == [ids[1]]
    assert len(store.references_for("C-1", include_removed=True)) == 2  # history kept
    with pytest.raises(UnknownCustomerError):
        store.require_customer("nobody")


def test_failed_registration_writes_nothing(db_url):
    store = Store(db_url)

    def fail(*_):
        raise RuntimeError("audit failed")

    with pytest.raises(RuntimeError):
        store.add_references("C-2", [_ref(1)], "v1", on_commit=fail)
    assert store.get_customer("C-2") is None


def test_locked_database_gives_clear_error(tmp_path):
    path = tmp_path / "locked.db"
    store = Store(f"sqlite:///{path}")
    blocker = sqlite3.connect(path, timeout=0)
    blocker.execute("BEGIN EXCLUSIVE")
    try:
        with pytest.raises(StoreError, match="locked by another program"):
            store.add_customer("C-3")
    finally:
        blocker.rollback()
        blocker.close()
    assert store.add_customer("C-3").customer_id == "C-3"
