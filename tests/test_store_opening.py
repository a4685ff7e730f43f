"""A mistyped --db is an error naming the path; only `sigverify init` (or the GUI's first start) creates a store."""

from __future__ import annotations

import json

from test_cli import sigverify


def test_mistyped_db_is_an_error_and_creates_nothing(tmp_path, test_model):
    missing = tmp_path / "nonexistent" / "dir" / "db.sqlite"
    for command in (["customers"], ["thresholds"], ["info", "--model", test_model]):
        result = sigverify(*command, "--db", f"sqlite:///{missing}")
        assert result.returncode == 7, result.stderr
        assert str(missing) in result.stderr and "sigverify init" in result.stderr
        assert "Traceback" not in result.stderr and "no customers" not in result.stdout
    assert not missing.exists() and not missing.parent.exists()


def test_default_database_is_not_created_by_a_command(isolated_home):
    result = sigverify("customers")
    assert result.returncode == 7 and "sigverify init" in result.stderr
    assert not list(isolated_home.rglob("sigverify.db"))


def test_init_creates_once_then_commands_open_it(tmp_path):
    db = f"sqlite:///{tmp_path / 'new' / 'bank.db'}"
    created = json.loads(sigverify("init", "--db", db, "--json", check=True).stdout)
    assert created["created"] is True and created["database"].endswith("bank.db")
    again = json.loads(sigverify("init", "--db", db, "--json", check=True).stdout)
    assert again["created"] is False
    listed = sigverify("customers", "--db", db)
    assert listed.returncode == 0 and "no customers" in listed.stdout


def test_a_file_that_is_not_a_sigverify_database_is_refused(tmp_path):
    other = tmp_path / "notes.db"
    other.write_bytes(b"")
    result = sigverify("customers", "--db", f"sqlite:///{other}")
    assert result.returncode == 7 and str(other) in result.stderr
    assert other.read_bytes() == b""  # nothing written into someone else's file
