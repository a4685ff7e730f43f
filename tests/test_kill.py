"""SIGKILL in the middle of registration, verification and batch loops: the store stays consistent.

A child process loops, printing "committed N" after each transaction returns; the test kills
it (SIGKILL: no cleanup, no atexit, possibly mid-write) and then checks that SQLite's own
integrity check passes, the audit chain is intact, every change has its audit record (they
share a transaction), and nothing the child reported as committed is missing. Each test runs
on the SQLite file and on a real PostgreSQL server, where the server must roll back the
killed client's open transaction (and release its audit lock) by itself.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time

import pytest
from sqlalchemy import func, select

from sigverify.core.engine import Engine
from sigverify.core.security import (
    AuditLog,
    bootstrap_user,
    integrity_check,
    open_store,
    table_problems,
)
from sigverify.core.session import open_session
from sigverify.core.store import audit_log, batch_items, customers, references, verifications

pytestmark = pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="SIGKILL is POSIX")

CHILD = r"""
import sys
from pathlib import Path
from sigverify.core.engine import Engine
from sigverify.core.security import bootstrap_user, open_store
from sigverify.core.session import open_session

mode, url, model, folder = sys.argv[1:5]
store = open_store(url)
verifier = open_session(Engine(model, device="cpu", warm_up=False), store, bootstrap_user("kill-test"))
files = sorted(Path(folder).glob("*.png"))
if mode == "register":
    for i in range(100000):
        verifier.register(f"K-{i}", [files[i % len(files)], files[(i + 1) % len(files)]])
        print(f"committed {i}", flush=True)
elif mode == "verify":
    for i in range(100000):
        result = verifier.verify("C-1", files[i % len(files)])
        verifier.record_final_decision(result.record_id, "accept")
        print(f"committed {result.record_id}", flush=True)
else:
    from sigverify.core.batch import BatchOptions
    options = BatchOptions(source=Path(folder), pattern=r"(?P<customer>C-\d+)_", workers=0, batch_size=4)
    verifier.batch(options, on_progress=lambda p: print(f"committed {p.done}", flush=True)).run()
    print("finished", flush=True)
"""


def run_and_kill(mode: str, db_url: str, model, folder, after: int) -> list[int]:
    """Start the loop, SIGKILL it after ``after`` commits (plus a random few ms); the numbers it reported."""
    child = subprocess.Popen([sys.executable, "-c", CHILD, mode, db_url, str(model), str(folder)],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    committed: list[int] = []
    try:
        deadline = time.monotonic() + 60
        while len(committed) < after and time.monotonic() < deadline:
            line = child.stdout.readline()
            if not line:
                break
            if line.startswith("committed "):
                committed.append(int(line.split()[1]))
        time.sleep(random.uniform(0, 0.08))  # land anywhere in the next transaction
        os.kill(child.pid, signal.SIGKILL)
    finally:
        child.kill()
        rest, err = child.communicate()
    committed += [int(line.split()[1]) for line in rest.splitlines() if line.startswith("committed ")]
    assert len(committed) >= after, f"the child did not get going: {err[-2000:]}"
    assert child.returncode == -signal.SIGKILL
    return committed


def count(store, table, *where) -> int:
    return store.run(lambda c: c.execute(select(func.count()).select_from(table).where(*where)).scalar())


@pytest.fixture
def db_url(any_db_url) -> str:
    return any_db_url


def assert_consistent(db_url: str):
    store = open_store(db_url)  # opening replays or discards the WAL, as the next start would
    if db_url.startswith("sqlite"):
        assert integrity_check(db_url.removeprefix("sqlite:///")) == "ok"
    check = AuditLog(store).verify()
    assert check.ok, check.reason
    return store


@pytest.fixture
def folder(tmp_path, signature_files):
    path = tmp_path / "loop"
    path.mkdir()
    for i in range(24):
        (path / f"C-1_{i:04d}.png").write_bytes(signature_files[("a0", "a1", "a2")[i % 3]].read_bytes())
    return path


def test_kill_during_registration(db_url, test_model, folder):
    committed = run_and_kill("register", db_url, test_model, folder, after=3)
    store = assert_consistent(db_url)
    for i in committed:
        assert len(store.references_for(f"K-{i}")) == 2  # nothing committed was lost
    # all or nothing: no customer without its references, no registration without its audit record
    n_customers = count(store, customers)
    assert n_customers in (len(committed), len(committed) + 1)
    assert count(store, references) == 2 * n_customers
    assert count(store, audit_log, audit_log.c.action == "register_reference") == n_customers


def test_kill_during_verification_loop(db_url, test_model, folder, signature_files):
    store = open_store(db_url)
    engine = Engine(test_model, device="cpu")
    open_session(engine, store, bootstrap_user("setup")).register("C-1", [signature_files["a0"]])
    committed = run_and_kill("verify", db_url, test_model, folder, after=4)
    store = assert_consistent(db_url)
    for record_id in committed:
        assert store.verification(record_id).final_decision == "accept"
    n = count(store, verifications)
    assert n >= len(committed)
    assert count(store, audit_log, audit_log.c.action == "verify") == n
    finals = count(store, verifications, verifications.c.final_decision.is_not(None))
    assert count(store, audit_log, audit_log.c.action == "final_decision") == finals


def test_kill_during_batch(db_url, test_model, folder, signature_files):
    store = open_store(db_url)
    open_session(Engine(test_model, device="cpu"), store, bootstrap_user("setup")).register(
        "C-1", [signature_files["a0"]])
    committed = run_and_kill("batch", db_url, test_model, folder, after=2)
    store = assert_consistent(db_url)
    rows = count(store, batch_items)
    assert rows >= max(committed) and rows % 4 == 0  # whole batches of 4 only, none lost
    # each flush's audit record commits with its rows: every row audited, no record without its rows
    assert table_problems(store) == []
