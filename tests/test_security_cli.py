"""Login, roles, audit, backup and model acceptance through the CLI."""

from __future__ import annotations

import contextlib
import csv
import io
import json
import sqlite3

import pytest
from argon2 import PasswordHasher
from model_factory import build_test_model
from test_cli import sigverify

from sigverify.cli.main import main
from sigverify.core.paths import card_path_for
from sigverify.core.security import users as users_module

ADMIN_PW, CLERK_PW = "admin password", "clerk password"


@pytest.fixture(autouse=True)
def cheap_argon2(monkeypatch):
    # in-process calls only; the subprocess calls below pay the real cost, as in production
    monkeypatch.setattr(users_module, "_hasher", PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1))


@pytest.fixture
def common(test_model, db_url):
    return ["--db", db_url, "--model", str(test_model), "--device", "cpu"]


@pytest.fixture
def pw_files(tmp_path):
    admin, clerk = tmp_path / "admin.pw", tmp_path / "clerk.pw"
    admin.write_text(ADMIN_PW + "\n", encoding="utf-8")
    clerk.write_text(CLERK_PW, encoding="utf-8")
    return {"admin": str(admin), "clerk": str(clerk)}


def cli(*args, env: dict | None = None, monkeypatch=None) -> tuple[int, str, str]:
    """``main`` in this process (fast); an uncaught exception fails the test, as a traceback would."""
    for name in ("SIGVERIFY_USER", "SIGVERIFY_PASSWORD", "SIGVERIFY_NEW_PASSWORD"):
        monkeypatch.delenv(name, raising=False)
    for name, value in (env or {}).items():
        monkeypatch.setenv(name, value)
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            code = main([str(a) for a in args])
        except SystemExit as exc:  # argparse
            code = exc.code
    return code, out.getvalue(), err.getvalue()


@pytest.fixture
def bank(common, pw_files, signature_files, monkeypatch):
    """alice (administrator, the first user), bob (clerk), customer C-1 with one reference."""
    code, _, err = cli("users", "add", "alice", "--role", "administrator", "--new-password-file", pw_files["admin"],
                       *common, monkeypatch=monkeypatch)
    assert code == 0 and "first-time administrator" in err
    admin = {"SIGVERIFY_USER": "alice", "SIGVERIFY_PASSWORD": ADMIN_PW}
    assert cli("users", "add", "bob", "--role", "clerk", *common, monkeypatch=monkeypatch,
               env={**admin, "SIGVERIFY_NEW_PASSWORD": CLERK_PW})[0] == 0
    assert cli("register", "C-1", signature_files["a0"], "--user", "alice", "--password-file", pw_files["admin"],
               *common, monkeypatch=monkeypatch)[0] == 0
    # clerks run the bundled model or one an administrator accepted
    assert cli("model", "accept", common[3], *common, env=admin, monkeypatch=monkeypatch)[0] == 0
    return {"admin": admin, "clerk": {"SIGVERIFY_USER": "bob", "SIGVERIFY_PASSWORD": CLERK_PW}}


def test_roles_hold_on_the_command_line(bank, common, signature_files, tmp_path, monkeypatch):
    clerk = bank["clerk"]
    own = build_test_model(tmp_path / "own.onnx", seed=8)
    code, _, err = cli("verify", "C-1", signature_files["a1"], "--db", common[1], "--model", own, *common[4:],
                       env=clerk, monkeypatch=monkeypatch)
    assert code == 8 and "may not use the model file own.onnx" in err and "sigverify model accept" in err
    code, out, _ = cli("verify", "C-1", signature_files["a1"], "--json", *common, env=clerk, monkeypatch=monkeypatch)
    assert code == 0 and json.loads(out)["record_id"] == 1
    for args in (("register", "C-1", signature_files["a2"]), ("thresholds", "--accept", "0.5", "--reject", "0.1"),
                 ("users", "list"), ("users", "add", "eve", "--role", "administrator"), ("audit", "verify"),
                 ("backup", "x.db")):
        code, out, err = cli(*args, *common, env={**clerk, "SIGVERIFY_NEW_PASSWORD": "whatever1"},
                             monkeypatch=monkeypatch)
        assert code == 8 and "bob (clerk) may not" in err and "only administrators" in err, args
    code, out, _ = cli("thresholds", "--json", *common, env=clerk, monkeypatch=monkeypatch)  # reading is fine
    assert code == 0 and json.loads(out)["source"] == "model"
    code, out, _ = cli("users", "list", "--json", *common, env=bank["admin"], monkeypatch=monkeypatch)
    assert [json.loads(line)["role"] for line in out.splitlines()] == ["administrator", "clerk"]


def test_login_is_required_once_users_exist(bank, common, monkeypatch, tmp_path):
    code, _, err = cli("customers", *common, monkeypatch=monkeypatch)
    assert code == 8 and "log in with --user" in err
    code, _, err = cli("customers", *common, env={"SIGVERIFY_USER": "bob", "SIGVERIFY_PASSWORD": "guess"},
                       monkeypatch=monkeypatch)
    assert code == 8 and "wrong user name or password" in err
    code, _, err = cli("customers", "--user", "bob", *common, monkeypatch=monkeypatch)  # no terminal to prompt on
    assert code == 8 and "--password-file" in err
    code, _, err = cli("customers", "--password", "x", *common, monkeypatch=monkeypatch)
    assert code == 2  # there is no password argument


def test_audit_verify_finds_a_tampered_record_and_exports(bank, common, signature_files, db_url, tmp_path,
                                                          monkeypatch):
    admin = bank["admin"]
    assert cli("verify", "C-1", signature_files["b0"], *common, env=bank["clerk"], monkeypatch=monkeypatch)[0] == 0
    code, out, _ = cli("audit", "verify", "--json", *common, env=admin, monkeypatch=monkeypatch)
    assert code == 0 and json.loads(out)["ok"] and json.loads(out)["records"] == 5
    conn = sqlite3.connect(db_url.removeprefix("sqlite:///"))
    with conn:
        conn.execute("UPDATE audit_log SET details = replace(details, 'no_match', 'match') WHERE action='verify'")
    conn.close()
    code, out, _ = cli("audit", "verify", *common, env=admin, monkeypatch=monkeypatch)
    assert code == 9 and "BROKEN at record 5" in out and "altered" in out
    target = tmp_path / "audit.csv"
    assert cli("audit", "export", target, *common, env=admin, monkeypatch=monkeypatch)[0] == 0
    rows = list(csv.DictReader(target.open(encoding="utf-8")))
    assert [r["action"] for r in rows] == ["add_user", "add_user", "register_reference", "accept_model", "verify"]


def test_model_accept_and_backup(bank, common, db_url, tmp_path, monkeypatch):
    model = build_test_model(tmp_path / "retrained.onnx", version="test-2", seed=5)
    card_path_for(model).write_text(json.dumps({"sha256": "f" * 64}), encoding="utf-8")
    swapped = ["--db", db_url, "--model", str(model), "--device", "cpu"]
    code, _, err = cli("info", *swapped, env=bank["admin"], monkeypatch=monkeypatch)
    assert code == 6 and "does not match its card" in err and "sigverify model accept" in err
    code, _, err = cli("model", "accept", model, *common, env=bank["clerk"], monkeypatch=monkeypatch)
    assert code == 8
    assert cli("model", "accept", model, "--reason", "retrained", *common, env=bank["admin"],
               monkeypatch=monkeypatch)[0] == 0
    code, out, err = cli("info", "--json", *swapped, env=bank["clerk"], monkeypatch=monkeypatch)
    assert code == 0 and json.loads(out)["model"]["version"] == "test-2" and "accepted" in err
    backup = tmp_path / "backup.db"
    code, out, err = cli("backup", backup, *common, env=bank["admin"], monkeypatch=monkeypatch)
    assert code == 0 and backup.is_file() and "key is not in the backup" in err
    code, out, _ = cli("audit", "verify", "--json", *common, env=bank["admin"], monkeypatch=monkeypatch)
    assert json.loads(out)["ok"]


def test_real_entry_point_first_user_then_denied_without_traceback(common, signature_files, tmp_path):
    pw = tmp_path / "pw"
    pw.write_text(ADMIN_PW, encoding="utf-8")
    first = sigverify("users", "add", "root", "--role", "administrator", "--new-password-file", pw, *common)
    assert first.returncode == 0 and "added administrator root" in first.stdout
    denied = sigverify("register", "C-2", signature_files["a0"], *common)
    assert denied.returncode == 8 and "log in" in denied.stderr and "Traceback" not in denied.stderr


def test_restore_a_backup_on_another_pc_needs_the_exported_key(bank, common, db_url, tmp_path, monkeypatch):
    admin = bank["admin"]
    key_copy, backup = tmp_path / "usb" / "sigverify.key", tmp_path / "usb" / "backup.db"
    assert cli("key", "export", key_copy, *common, env=admin, monkeypatch=monkeypatch)[0] == 0
    assert oct(key_copy.stat().st_mode & 0o777) == "0o600"
    assert cli("key", "export", key_copy, *common, env=admin, monkeypatch=monkeypatch)[0] == 7  # never overwritten
    assert cli("key", "export", tmp_path / "k2", *common, env=bank["clerk"], monkeypatch=monkeypatch)[0] == 8
    assert cli("backup", backup, *common, env=admin, monkeypatch=monkeypatch)[0] == 0
    monkeypatch.setenv("SIGVERIFY_HOME", str(tmp_path / "new-pc"))  # another PC: no key yet
    restored = ["--db", f"sqlite:///{backup}", *common[2:]]
    code, _, err = cli("customers", *restored, env=admin, monkeypatch=monkeypatch)
    assert code == 7 and "sigverify key import" in err
    assert not (tmp_path / "new-pc").exists()  # no fresh key was made up for the encrypted database
    code, _, err = cli("key", "import", key_copy, *restored, env=admin, monkeypatch=monkeypatch)
    assert code == 0, err
    code, out, _ = cli("customers", "--json", *restored, env=admin, monkeypatch=monkeypatch)
    assert code == 0 and json.loads(out)["references"] == 1
    code, out, _ = cli("audit", "verify", *restored, env=admin, monkeypatch=monkeypatch)
    assert code == 0, out


@pytest.mark.parametrize("command", ["audit export", "key export", "backup"])
def test_unwritable_destinations_are_errors_not_tracebacks(command, bank, common, tmp_path, monkeypatch):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder", encoding="utf-8")
    code, _, err = cli(*command.split(), blocker / "out", *common, env=bank["admin"], monkeypatch=monkeypatch)
    assert code in (1, 7) and f"{blocker}" in err and "error:" in err
