"""Users, roles, the permission guard, the chained audit trail, model acceptance, backup (core level).

Every test runs on the embedded SQLite file and on a real PostgreSQL server (``any_db_url``):
encrypted references, roles and the audit chain must behave the same on both.
"""

from __future__ import annotations

import json
import re
import shutil

import pytest
from argon2 import PasswordHasher
from model_factory import build_test_model
from sqlalchemy import create_engine

from sigverify.core.dbconfig import connect_url, database_setting
from sigverify.core.engine import Engine
from sigverify.core.model_trust import ModelError
from sigverify.core.paths import card_path_for
from sigverify.core.security import (
    AuditLog,
    AuthenticationError,
    Permission,
    PermissionDenied,
    Role,
    UserService,
    accept_model,
    accepted_model_hashes,
    backup_database,
    bootstrap_user,
    integrity_check,
    open_store,
    require,
)
from sigverify.core.security import users as users_module
from sigverify.core.session import open_session
from sigverify.core.store import Store, StoreError

PASSWORD = "correct horse"


@pytest.fixture(autouse=True)
def cheap_argon2(monkeypatch):
    """Full-cost argon2 (64 MiB, 3 passes) is the point in production and only slows tests down here."""
    monkeypatch.setattr(users_module, "_hasher", PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1))


@pytest.fixture
def db_url(any_db_url) -> str:
    return any_db_url


@pytest.fixture
def store(db_url) -> Store:
    return open_store(db_url)


@pytest.fixture
def users(store) -> UserService:
    return UserService(store)


@pytest.fixture
def admin(users):
    return users.create_first_administrator("alice", PASSWORD)


@pytest.fixture
def clerk(users, admin, test_model):
    # clerks run the bundled model or one an administrator accepted: accept the test model
    accept_model(users.store, admin, test_model)
    return users.add_user(admin, "bob", PASSWORD, Role.CLERK)


@pytest.fixture
def engine(test_model) -> Engine:
    return Engine(test_model, device="cpu")


def sql(db_url: str, statement: str, *params) -> list:
    """A statement typed into the database around sigverify (what a tamperer would do)."""
    engine = create_engine(connect_url(database_setting(db_url)))
    if engine.dialect.name == "postgresql":
        # PostgreSQL spells parameters %s and needs the column named user quoted (a keyword there)
        statement = re.sub(r"(?<![\w'])user(?![\w'])", '"user"', statement.replace("?", "%s"))
    try:
        with engine.begin() as conn:
            result = conn.exec_driver_sql(statement, tuple(params))
            return result.fetchall() if result.returns_rows else []
    finally:
        engine.dispose()


# --- users -----------------------------------------------------------------------------------
def test_first_user_is_an_administrator_without_login(users):
    assert users.needs_first_administrator()
    with pytest.raises(ValueError, match="first user must be an administrator"):
        users.add_user(None, "bob", PASSWORD, Role.CLERK)
    alice = users.create_first_administrator("alice", PASSWORD)
    assert alice.role is Role.ADMINISTRATOR and not users.needs_first_administrator()
    with pytest.raises(AuthenticationError, match="users exist already"):
        users.create_first_administrator("mallory", PASSWORD)
    with pytest.raises(AuthenticationError):  # a bootstrap session ends once a user exists
        users.add_user(bootstrap_user("x"), "mallory", PASSWORD, Role.ADMINISTRATOR)


def test_passwords_are_argon2_and_login_fails_without_saying_why(users, admin, db_url):
    [(stored,)] = sql(db_url, "SELECT password_hash FROM users WHERE username='alice'")
    assert stored.startswith("$argon2id$") and PASSWORD not in stored
    assert users.authenticate("alice", PASSWORD, record_login=True) == admin
    assert list(AuditLog(users.store).records())[-1].action == "login"
    for name, password in (("alice", "wrong password"), ("nobody", PASSWORD)):
        with pytest.raises(AuthenticationError, match="wrong user name or password"):
            users.authenticate(name, password)
    assert [r.action for r in AuditLog(users.store).records()][-2:] == ["login_failed", "login_failed"]
    with pytest.raises(ValueError, match="at least 8"):
        users.add_user(admin, "carol", "short", Role.CLERK)
    with pytest.raises(ValueError, match="user name"):
        users.add_user(admin, "bad name;--", PASSWORD, Role.CLERK)


def test_disable_and_last_administrator(users, admin, clerk):
    users.set_disabled(admin, "bob")
    with pytest.raises(AuthenticationError, match="disabled"):
        users.authenticate("bob", PASSWORD)
    with pytest.raises(ValueError, match="no active administrator"):
        users.set_role(admin, "alice", Role.CLERK)
    assert users.get("alice").role is Role.ADMINISTRATOR  # rolled back
    with pytest.raises(PermissionDenied):
        users.list_users(clerk)
    users.set_password(clerk, "bob", "a new password")  # one's own password: allowed
    with pytest.raises(PermissionDenied):
        users.set_password(clerk, "alice", "a new password")


# --- the session's access policy -------------------------------------------------------------------------------
def test_clerk_verifies_and_decides_but_changes_nothing_else(engine, store, admin, clerk, signature_files):
    as_admin = open_session(engine, store, admin)
    as_clerk = open_session(engine, store, clerk)
    as_admin.register("C-1", [signature_files["a0"]], name="Ann")
    result = as_clerk.verify("C-1", signature_files["a1"])  # recorded as the logged-in user, no other
    as_clerk.record_final_decision(result.record_id, "accept")
    row = store.verification(result.record_id)
    assert row.user == "bob" and row.final_by == "bob"
    refused = {
        "register": lambda: as_clerk.register("C-1", [signature_files["a2"]]),
        "remove": lambda: as_clerk.remove_reference("C-1", 1),
        "thresholds": lambda: as_clerk.set_thresholds(0.9, 0.5),
        "customer": lambda: as_clerk.update_customer("C-1", account="123"),
    }
    for name, action in refused.items():
        with pytest.raises(PermissionDenied, match="bob \\(clerk\\) may not .*only administrators") as info:
            action()
        assert isinstance(info.value, PermissionError), name
    assert len(store.references_for("C-1")) == 1 and as_clerk.thresholds().source == "model"
    assert [r.created_by for r in store.references_for("C-1")] == ["alice"]


def test_a_session_loses_rights_taken_away_while_it_is_logged_in(engine, store, users, admin, clerk,
                                                                signature_files):
    as_admin = open_session(engine, store, admin)
    as_clerk = open_session(engine, store, clerk)
    as_admin.register("C-1", [signature_files["a0"]])
    as_clerk.verify("C-1", signature_files["a1"])
    users.set_disabled(admin, "bob")  # another administrator disables the clerk mid-session
    with pytest.raises(PermissionDenied, match="disabled"):
        as_clerk.verify("C-1", signature_files["a1"])
    users.set_role(admin, "bob", Role.CLERK)
    users.add_user(admin, "carol", PASSWORD, Role.ADMINISTRATOR)
    as_carol = open_session(engine, store, users.get("carol"))
    users.set_role(admin, "carol", Role.CLERK)  # demoted while logged in
    with pytest.raises(PermissionDenied, match="may not"):
        as_carol.set_thresholds(0.9, 0.5)


def test_role_table_is_the_one_rule(admin, clerk):
    assert all(admin.can(p) for p in Permission)
    assert {p for p in Permission if clerk.can(p)} == {Permission.VERIFY, Permission.FINAL_DECISION}
    with pytest.raises(AuthenticationError):
        require(None, Permission.VERIFY)


# --- audit trail -----------------------------------------------------------------------------
def test_every_action_is_audited_with_what_a_bank_needs(engine, store, admin, clerk, signature_files):
    as_admin, as_clerk = open_session(engine, store, admin), open_session(engine, store, clerk)
    as_admin.register("C-1", [signature_files["a0"], signature_files["a1"]])
    as_admin.set_thresholds(0.95, 0.5)
    result = as_clerk.verify("C-1", signature_files["a2"])
    as_clerk.record_final_decision(result.record_id, "refer_to_supervisor")
    as_admin.remove_reference("C-1", 1, reason="poor scan")
    records = list(AuditLog(store).records())
    assert [r.action for r in records] == ["add_user", "accept_model", "add_user", "register_reference",
                                          "set_thresholds", "verify", "final_decision", "remove_reference"]
    verify = records[5]
    assert verify.user == "bob" and verify.created_at
    assert {"customer_id", "sha256", "box", "score", "decision", "model", "providers", "record_id"} <= set(
        verify.details)
    assert verify.details["sha256"] == result.file_sha256 and verify.details["providers"] == ["CPUExecutionProvider"]
    assert records[6].details == {"record_id": result.record_id, "final_decision": "refer_to_supervisor"}
    assert AuditLog(store).verify().ok


def test_a_change_and_its_audit_record_commit_together(engine, store, admin, signature_files):
    verifier = open_session(engine, store, admin)

    def failing_audit(conn, user, action, details):
        raise RuntimeError("disk full while writing the audit record")

    verifier.verifier.audit = failing_audit
    with pytest.raises(RuntimeError):
        verifier.register("C-9", [signature_files["a0"]])
    assert store.get_customer("C-9") is None


@pytest.mark.parametrize("tamper, bad_id, reason", [
    ("UPDATE audit_log SET details = replace(details, '\"accept\"', '\"reject\"') WHERE id = 6", 6, "altered"),
    ("UPDATE audit_log SET user = 'alice' WHERE id = 5", 5, "altered"),
    ("DELETE FROM audit_log WHERE id = 3", 3, "missing"),
])
def test_tampering_is_found_at_the_first_altered_record(engine, store, admin, clerk, signature_files, db_url,
                                                        tamper, bad_id, reason):
    open_session(engine, store, admin).register("C-1", [signature_files["a0"]])
    as_clerk = open_session(engine, store, clerk)
    result = as_clerk.verify("C-1", signature_files["a1"])
    as_clerk.record_final_decision(result.record_id, "accept")
    as_clerk.verify("C-1", signature_files["a2"])
    assert AuditLog(store).verify().ok
    sql(db_url, tamper)
    check = AuditLog(store).verify()
    assert not check.ok and check.first_bad_id == bad_id and reason in check.reason and check.records == bad_id - 1


def test_rewriting_the_hash_too_breaks_the_next_link(engine, store, admin, db_url):
    users = UserService(store)
    for name in ("carol", "dave", "erin"):
        users.add_user(admin, name, PASSWORD, Role.CLERK)
    from sigverify.core.security.audit import record_hash

    [(rid, created, user, action, details, prev)] = sql(
        db_url, "SELECT id, created_at, user, action, details, prev_hash FROM audit_log WHERE id = 2")
    forged = json.loads(details) | {"role": "administrator"}
    sql(db_url, "UPDATE audit_log SET details = ?, hash = ? WHERE id = 2", json.dumps(forged),
        record_hash(prev, rid, created, user, action, forged))
    check = AuditLog(store).verify()
    assert check.first_bad_id == 3 and "does not link" in check.reason


def test_csv_export(store, admin, clerk, tmp_path):
    path = tmp_path / "audit.csv"
    assert AuditLog(store).export_csv(path) == 3
    lines = path.read_text(encoding="utf-8").splitlines()
    assert lines[0] == "id,created_at,user,action,details,prev_hash,hash" and len(lines) == 4


# --- model acceptance ------------------------------------------------------------------------
def test_a_model_that_does_not_match_its_card_needs_an_administrator(tmp_path, store, admin, clerk):
    model = build_test_model(tmp_path / "m.onnx", seed=3)
    card_path_for(model).write_text(json.dumps({"sha256": "0" * 64}), encoding="utf-8")
    with pytest.raises(ModelError, match="does not match its card"):
        Engine(model, device="cpu")
    with pytest.raises(PermissionDenied):
        accept_model(store, clerk, model)
    entry = accept_model(store, admin, model, reason="retrained in-house")
    engine = Engine(model, device="cpu", accepted_sha256=accepted_model_hashes(store))
    assert engine.check.accepted and entry["sha256"] == engine.check.sha256
    last = list(AuditLog(store).records())[-1]
    assert last.action == "accept_model" and last.user == "alice" and last.details["sha256"] == entry["sha256"]
    model.write_bytes(model.read_bytes() + b"\0")  # changed again after the acceptance: refused again
    with pytest.raises(ModelError):
        Engine(model, device="cpu", accepted_sha256=accepted_model_hashes(store))


def test_accepting_a_file_that_is_no_model_is_refused(tmp_path, store, admin):
    junk = tmp_path / "junk.onnx"
    junk.write_bytes(b"not a model at all")
    with pytest.raises(ModelError):
        accept_model(store, admin, junk)
    assert not accepted_model_hashes(store)


# --- backup ----------------------------------------------------------------------------------
def test_backup_is_consistent_and_audited(engine, store, admin, clerk, signature_files, tmp_path):
    if store.engine.dialect.name != "sqlite":
        with pytest.raises(StoreError, match="its own tools"):  # pg_dump: README, 'A shared PostgreSQL store'
            backup_database(store, tmp_path / "copy.db", admin)
        return
    open_session(engine, store, admin).register("C-1", [signature_files["a0"]])
    target = tmp_path / "backups" / "copy.db"
    with pytest.raises(PermissionDenied):
        backup_database(store, target, clerk)
    backup_database(store, target, admin)
    assert integrity_check(target) == "ok"
    copy = Store(f"sqlite:///{target}", cipher=store.cipher)
    assert copy.get_customer("C-1") is not None and AuditLog(copy).verify().ok
    with pytest.raises(StoreError, match="exists already"):
        backup_database(store, target, admin)
    assert list(AuditLog(store).records())[-1].action == "backup"
    shutil.rmtree(tmp_path / "backups")


def test_concurrent_writers_never_fork_the_chain(store):
    import threading

    log = AuditLog(store)

    def write(name: str) -> None:
        for i in range(10):
            log.record(name, "note", {"i": i})

    threads = [threading.Thread(target=write, args=(f"w{n}",)) for n in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    check = log.verify()
    assert check.ok and check.records == 30


@pytest.mark.parametrize("tamper, words", [
    ("UPDATE verifications SET decision = 'match', score = 0.99", "verification record 1: score, decision"),
    ("UPDATE verifications SET final_decision = 'accept'", "final decision differs"),
    ("DELETE FROM verifications", "verification record 1 is in the audit trail but not in the table"),
    ("UPDATE users SET role = 'administrator' WHERE username = 'bob'", "'bob' has role 'administrator'"),
    ("UPDATE users SET password_hash = (SELECT password_hash FROM users WHERE username = 'bob') "
     "WHERE username = 'alice'", "'alice': the password hash was replaced"),
    ("UPDATE settings SET value = substr(value, 1, length(value) - 1) || ',\"abc\": {}}' "
     "WHERE key = 'accepted_models'", "model abc is marked accepted"),
    ("INSERT INTO settings (key, value) VALUES ('thresholds', '{\"accept\": 0.1, \"reject\": 0.0}')",
     "thresholds setting"),
    ("UPDATE reference_signatures SET removed_at = '2026-01-01'", "reference signature 1: removed or restored"),
])
def test_tables_changed_around_sigverify_are_found(engine, store, admin, clerk, signature_files, db_url, tamper,
                                                   words):
    from sigverify.core.security import table_problems

    open_session(engine, store, admin).register("C-1", [signature_files["a0"]])
    open_session(engine, store, clerk).verify("C-1", signature_files["b0"])
    assert table_problems(store) == []
    sql(db_url, tamper)
    problems = table_problems(store)
    assert AuditLog(store).verify().ok  # the trail itself is untouched ...
    assert any(words in p for p in problems), problems  # ... and says what the table should hold


def test_a_role_raised_in_the_database_file_gives_no_login(users, admin, clerk, db_url):
    sql(db_url, "UPDATE users SET role = 'administrator' WHERE username = 'bob'")
    with pytest.raises(AuthenticationError, match="changed outside sigverify"):
        users.authenticate("bob", PASSWORD)
    assert users.authenticate("alice", PASSWORD) == admin  # the others are not affected
    assert list(AuditLog(users.store).records())[-1].action == "login_refused"


def test_an_acceptance_typed_into_the_database_lets_no_model_in(tmp_path, store, db_url):
    model = build_test_model(tmp_path / "m.onnx", seed=4)
    card_path_for(model).write_text(json.dumps({"sha256": "0" * 64}), encoding="utf-8")
    from sigverify.core.model_trust import sha256_file

    forged = json.dumps({sha256_file(model): {"file": str(model), "accepted_by": "alice"}})
    sql(db_url, "INSERT INTO settings (key, value) VALUES ('accepted_models', ?)", forged)
    assert accepted_model_hashes(store) == frozenset()
    with pytest.raises(ModelError):
        Engine(model, device="cpu", accepted_sha256=accepted_model_hashes(store))


def test_a_clerk_runs_only_the_bundled_or_an_accepted_model(tmp_path, store, admin, clerk, signature_files):
    other = Engine(build_test_model(tmp_path / "clerks-own.onnx", tau_accept=0.0, tau_reject=0.0, seed=7), device="cpu")
    with pytest.raises(PermissionDenied, match="may not use the model file clerks-own.onnx"):
        open_session(other, store, clerk)
    open_session(other, store, admin)  # an administrator's choice (and every record names the model)


def test_re_embedding_after_a_model_change_is_audited(tmp_path, engine, store, admin, signature_files):
    from sigverify.core.security import table_problems

    open_session(engine, store, admin).register("C-1", [signature_files["a0"]])
    newer = Engine(build_test_model(tmp_path / "v2.onnx", version="test-2", seed=2), device="cpu")
    assert open_session(newer, store, admin).refresh_stale_embeddings() == 1
    last = list(AuditLog(store).records())[-1]
    assert last.action == "refresh_embeddings" and last.user == "alice"
    assert last.details == {"reference_ids": [1], "model_version": "test-2"}
    assert AuditLog(store).verify().ok and table_problems(store) == []


def test_password_guessing_is_throttled(users, admin, clerk):
    for _ in range(5):
        with pytest.raises(AuthenticationError, match="wrong user name or password"):
            users.authenticate("bob", "guess guess")
    with pytest.raises(AuthenticationError, match="too many wrong passwords for 'bob'"):
        users.authenticate("bob", PASSWORD)  # even the right password waits
    assert users.authenticate("alice", PASSWORD) == admin  # only that account
