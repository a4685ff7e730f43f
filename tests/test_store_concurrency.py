"""Many clerk PCs on one store: clerks verifying, an administrator replacing references and a batch
run, all at once for about 30 s (SIGVERIFY_CONCURRENCY_SECONDS), as separate processes.

PostgreSQL: 8 processes (6 clerks, 1 administrator, 1 batch). SQLite (WAL, busy timeout): 3
(1 of each), the most an embedded file is meant to serve. Afterwards: the audit chain verifies,
the audit records of each user are exactly the operations that user's process reported, every
record a process was told was committed is there once, the tables agree with the trail, and no
process saw any error at all.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest
from sqlalchemy import func, select

from sigverify.core.engine import Engine
from sigverify.core.security import (
    AuditLog,
    Role,
    UserService,
    accept_model,
    open_store,
    table_problems,
)
from sigverify.core.session import open_session
from sigverify.core.store import audit_log, batch_items, references, verifications

WORKER = Path(__file__).parent / "concurrency_worker.py"
SECONDS = float(os.environ.get("SIGVERIFY_CONCURRENCY_SECONDS", "30"))
PASSWORD = "concurrency test password"


@pytest.fixture
def workplace(tmp_path, signature_files):
    """Signature files to verify and register, and a batch folder of 12 cheques for C-0..C-2."""
    files = tmp_path / "work" / "files"
    batch = tmp_path / "work" / "batch"
    files.mkdir(parents=True)
    batch.mkdir()
    genuine = [signature_files[k] for k in ("a0", "a1", "a2", "b0")]
    for i, path in enumerate(genuine):
        (files / f"s{i}.png").write_bytes(path.read_bytes())
    for i in range(12):
        (batch / f"C-{i % 3}_{i:03d}.png").write_bytes(genuine[i % 4].read_bytes())
    return files


def prepare_store(url: str, model: Path, files: Path, clerks: int) -> tuple[int, list[str]]:
    """Users, the accepted test model, customers C-0..C-2 with two references; returns the last audit id."""
    store = open_store(url)
    users = UserService(store)
    admin = users.create_first_administrator("admin", PASSWORD)
    accept_model(store, admin, model)
    names = [f"clerk{i}" for i in range(1, clerks + 1)] + ["backoffice"]
    for name in names:
        users.add_user(admin, name, PASSWORD, Role.CLERK)
    verifier = open_session(Engine(model, device="cpu"), store, admin)
    signatures = sorted(files.glob("*.png"))
    for c in range(3):
        verifier.register(f"C-{c}", signatures[c:c + 2])
    last = store.run(lambda conn: conn.execute(select(func.max(audit_log.c.id))).scalar())
    store.engine.dispose()
    return last, names


def run_processes(url: str, model: Path, files: Path, plan: list[tuple[str, str]]) -> list[dict]:
    processes = [subprocess.Popen([sys.executable, str(WORKER), role, user, url, str(model), str(files),
                                   str(SECONDS)], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                  stderr=subprocess.PIPE, text=True) for role, user in plan]
    try:
        for process in processes:  # wait until every one has loaded the model and opened the store
            line = process.stdout.readline()
            assert line.strip() == "ready", f"a worker did not start: {line}{process.stderr.read()[-3000:]}"
        for process in processes:
            process.stdin.write("go\n")
            process.stdin.flush()
        reports = []
        for process in processes:
            out, err = process.communicate(timeout=SECONDS + 120)
            assert process.returncode == 0, err[-3000:]
            reports.append(json.loads(out.strip().splitlines()[-1]))
        return reports
    finally:
        for process in processes:
            process.kill()


def check_everything_is_there_once(url: str, baseline: int, reports: list[dict]) -> None:
    for report in reports:
        assert report["errors"] == [], f"{report['user']} saw: {report['errors']}"
        assert sum(report["done"].values()) > 0, f"{report['user']} did nothing in {SECONDS} s"
    store = open_store(url)
    log = AuditLog(store)
    check = log.verify()
    assert check.ok, check.reason  # one chain, however many wrote at once

    written = list(log.records(since_id=baseline))
    audited = Counter((r.user, r.action) for r in written)
    reported = Counter()
    for report in reports:
        for action, n in report["done"].items():
            if action != "batch_items":
                reported[(report["user"], action)] = n
    batch_verify = {k: v for k, v in audited.items() if k[1] == "batch_verify"}
    assert Counter({k: v for k, v in audited.items() if k[1] != "batch_verify"}) == reported
    assert sum(audited.values()) == sum(reported.values()) + sum(batch_verify.values())

    def scalar(query):
        return store.run(lambda c: c.execute(query).scalar())

    for report in reports:
        if report["role"] == "clerk":  # every verification the clerk was given an id for, once
            ids = report["ids"]
            assert len(ids) == len(set(ids)) == report["done"]["verify"]
            rows = scalar(select(func.count()).select_from(verifications)
                          .where(verifications.c.user == report["user"]))
            assert rows == len(ids)
            assert scalar(select(func.count()).select_from(verifications).where(verifications.c.id.in_(ids))) \
                == len(ids)
        if report["role"] == "administrator":
            ids = report["ids"]
            assert scalar(select(func.count()).select_from(references).where(references.c.id.in_(ids))) == len(ids)
        if report["role"] == "batch":
            items = report["done"]["batch_items"]
            assert scalar(select(func.count()).select_from(batch_items)
                          .where(batch_items.c.run_id.in_(report["ids"]))) == items
            flushed = sum(len(r.details["items"]) for r in written if r.action == "batch_verify")
            assert flushed == items  # each item audited once, by its flush
    # a replacement adds one reference and removes one: C-0..C-2 still have two each
    for c in range(3):
        assert len(store.references_for(f"C-{c}")) == 2
    assert table_problems(store) == []
    totals = Counter()
    for report in reports:
        totals.update({f"{report['role']}:{k}": v for k, v in report["done"].items()})
    print(f"\n{store.engine.dialect.name}: {dict(totals)} in {SECONDS:.0f} s")


@pytest.mark.slow
def test_eight_processes_on_a_postgresql_server(pg_store_url, test_model, workplace):
    baseline, names = prepare_store(pg_store_url, test_model, workplace, clerks=6)
    plan = [("clerk", name) for name in names[:6]] + [("administrator", "admin"), ("batch", "backoffice")]
    reports = run_processes(pg_store_url, test_model, workplace, plan)
    check_everything_is_there_once(pg_store_url, baseline, reports)


@pytest.mark.slow
def test_three_processes_on_a_sqlite_file(db_url, test_model, workplace):
    baseline, names = prepare_store(db_url, test_model, workplace, clerks=1)
    plan = [("clerk", names[0]), ("administrator", "admin"), ("batch", "backoffice")]
    reports = run_processes(db_url, test_model, workplace, plan)
    check_everything_is_there_once(db_url, baseline, reports)
