"""A shared PostgreSQL store as a bank sets it up: one setting per PC, the password kept out of URLs,
command lines, logs and reports, and a clear answer when the server cannot be reached."""

from __future__ import annotations

import json
import logging
import os

import numpy as np
import pytest
from sqlalchemy import func, select

from sigverify.cli.main import main as cli_main
from sigverify.core import dbconfig
from sigverify.core.security import AuditLog
from sigverify.core.store import NewReference, Store, StoreError, StoreUnreachableError, audit_log


def _ref(i: int) -> NewReference:
    return NewReference(f"f{i}.png", f"{i:064d}", b"bytes%d" % i, None, b"png", np.full(4, i, np.float32))


def write_config(path, url: str, **extra) -> None:
    lines = ["[database]", f"url = {url}"] + [f"{k} = {v}" for k, v in extra.items()]
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines) + "\n")


def with_password(url: str, password: str) -> str:
    return url.replace("@", f":{password}@", 1)


def test_one_config_file_points_every_program_at_the_server(pg_url, isolated_home, monkeypatch):
    # the file a bank's IT deploys; here the user's config folder (the machine's is the same format)
    write_config(isolated_home / "config" / "sigverify" / "database.conf", pg_url)
    store = Store()  # no URL given: as the GUI and every command start
    assert store.engine.dialect.name == "postgresql" and store.location == pg_url
    store.add_references("C-1", [_ref(1)], "v1")
    assert cli_main(["customers", "--json"]) == 0  # the command line finds it the same way
    monkeypatch.setenv(dbconfig.DB_ENV, "sqlite:///" + str(isolated_home / "other.db"))
    assert Store().engine.dialect.name == "sqlite"  # the environment variable wins over the file


@pytest.mark.parametrize("where", ["--db", "SIGVERIFY_DB", "database.conf"])
def test_a_password_in_a_url_is_refused_without_repeating_it(pg_url, pg_server, isolated_home, monkeypatch,
                                                              capsys, where):
    secret_url = with_password(pg_url, pg_server.password)
    if where == "--db":
        code = cli_main(["customers", "--db", secret_url])
        assert code != 0
        message = capsys.readouterr().err
    else:
        if where == "SIGVERIFY_DB":
            monkeypatch.setenv(dbconfig.DB_ENV, secret_url)
        else:
            write_config(isolated_home / "config" / "sigverify" / "database.conf", secret_url)
        with pytest.raises(StoreError) as caught:
            Store()
        message = str(caught.value)
    assert "contains a password" in message and dbconfig.PASSWORD_ENV in message
    assert pg_server.password not in message


def test_password_file_must_be_private(pg_url, pg_server, tmp_path, monkeypatch):
    monkeypatch.delenv(dbconfig.PASSWORD_ENV)
    secret = tmp_path / "db-password"
    secret.write_text(pg_server.password + "\n")
    config = tmp_path / "database.conf"
    write_config(config, pg_url, password_file=secret)
    monkeypatch.setenv(dbconfig.CONFIG_ENV, str(config))
    if os.name == "posix":
        secret.chmod(0o644)
        with pytest.raises(StoreError, match="can be read by other users"):
            Store()
    secret.chmod(0o600)
    assert Store().schema_version() >= 3


def test_password_from_the_keyring(pg_url, pg_server, tmp_path, monkeypatch):
    import keyring
    from test_security_crypto import MemoryKeyring

    previous = keyring.get_keyring()
    keyring.set_keyring(MemoryKeyring())
    try:
        monkeypatch.delenv(dbconfig.PASSWORD_ENV)
        config = tmp_path / "database.conf"
        write_config(config, pg_url, keyring="yes")
        monkeypatch.setenv(dbconfig.CONFIG_ENV, str(config))
        from sqlalchemy.engine import make_url

        keyring.set_password(dbconfig.KEYRING_SERVICE, dbconfig.keyring_account(make_url(pg_url)),
                             pg_server.password)
        assert Store().schema_version() >= 3
    finally:
        keyring.set_keyring(previous)


def test_the_password_is_in_no_log_message_or_report(pg_url, pg_server, monkeypatch, caplog, capsys, tmp_path):
    password = pg_server.password
    caplog.set_level(logging.DEBUG)  # everything any library logs, SQLAlchemy and Alembic included
    monkeypatch.setenv(dbconfig.DB_ENV, pg_url)
    store = Store()
    store.add_customer("C-1", name="Ada")
    AuditLog(store).record("admin", "note", {"n": 1})
    texts = [repr(store.engine), str(store.engine.url), store.location, store.url]
    assert cli_main(["info", "--json"]) == 0
    assert cli_main(["audit", "verify", "--json"]) == 0
    assert cli_main(["audit", "export", str(tmp_path / "audit.csv")]) == 0
    texts.append((tmp_path / "audit.csv").read_text())
    monkeypatch.setenv(dbconfig.PASSWORD_ENV, password + "-wrong")  # a refused login says why ...
    with pytest.raises(StoreError) as refused:
        Store()
    assert "refused this PC's password" in str(refused.value)  # not "unreachable": the network is fine
    assert not isinstance(refused.value, StoreUnreachableError)
    monkeypatch.setenv(dbconfig.PASSWORD_ENV, password)
    monkeypatch.setenv(dbconfig.DB_ENV, pg_url.replace(f":{pg_server.port}/", ":1/"))  # nobody listens
    with pytest.raises(StoreUnreachableError) as unreachable:
        Store()
    output = capsys.readouterr()
    texts += [str(refused.value), str(unreachable.value), output.out, output.err, caplog.text]
    assert all(password not in text for text in texts)  # ... and never with the password
    assert password in os.environ[dbconfig.PASSWORD_ENV]  # (the check above could have failed)


def test_server_unreachable_nothing_half_written_and_back_when_it_is(pg_url, pg_server):
    store = Store(pg_url)
    store.add_references("C-1", [_ref(1)], "v1", on_commit=lambda c, cust, ids: AuditLog(store).append(
        c, "admin", "register_reference", {"ids": ids}))
    pg_server.stop()
    try:
        with pytest.raises(StoreUnreachableError) as caught:
            store.add_references("C-2", [_ref(2)], "v1")
        message = str(caught.value)
        assert "cannot be reached" in message and "nothing was saved" in message
        assert f"127.0.0.1:{pg_server.port}" in message
    finally:
        pg_server.restart()
    # the same Store (a clerk's running app) works again without a restart
    assert store.get_customer("C-2") is None  # nothing of the failed registration
    store.add_references("C-3", [_ref(3)], "v1")
    assert [c.customer_id for c in store.list_customers()] == ["C-1", "C-3"]
    assert AuditLog(store).verify().ok
    assert store.run(lambda c: c.execute(select(func.count()).select_from(audit_log)).scalar()) == 1


def test_init_on_the_server_then_every_command_finds_it(pg_url, capsys, monkeypatch):
    monkeypatch.setenv(dbconfig.DB_ENV, pg_url)
    assert cli_main(["info", "--json"]) != 0  # an empty server database is not made a store by accident
    assert "sigverify init" in capsys.readouterr().err
    assert cli_main(["init", "--json"]) == 0  # IT, once
    assert json.loads(capsys.readouterr().out)["created"] is True
    assert cli_main(["info", "--json"]) == 0
    info = json.loads(capsys.readouterr().out)
    assert info["database"] == pg_url and info["schema_version"] == 3  # named without credentials


def test_a_writer_holds_up_other_writers_for_one_transaction_and_readers_not_at_all(pg_store_url):
    import threading
    import time

    from sigverify.core.store import verifications

    store = Store(pg_store_url)
    store.add_references("C-1", [_ref(1)], "v1")
    other = Store(pg_store_url)  # another clerk PC
    with store.engine.connect() as conn:
        transaction = conn.begin()
        conn.execute(verifications.insert().values(customer_id="C-1", created_at="t"))  # holds the writer lock
        began = time.monotonic()
        assert [r.customer_id for r in other.references_for("C-1")] == ["C-1"]  # a read does not wait
        assert time.monotonic() - began < 2
        done = threading.Event()
        thread = threading.Thread(target=lambda: (other.record_verification({"customer_id": "C-1"}), done.set()))
        thread.start()
        assert not done.wait(1.0)  # the second writer waits for the first one's transaction ...
        transaction.commit()
    assert done.wait(10)  # ... and no longer: it goes on at the commit
    thread.join()
    ids = store.run(lambda c: c.execute(select(verifications.c.id).order_by(verifications.c.id)).scalars().all())
    assert len(ids) == 2


def test_without_the_postgres_extra_the_error_says_what_to_install(monkeypatch):
    import sys

    monkeypatch.setitem(sys.modules, "psycopg", None)  # as on a PC without `pip install '.[postgres]'`
    with pytest.raises(StoreError, match=r"pip install 'sigverify\[postgres\]'"):
        Store("postgresql+psycopg://clerk@db.example/sigverify")
