"""The exit codes a scheduled job relies on: one table in the README, and each code where it is promised."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

from sigverify.cli.exit_codes import ExitCode, markdown_table
from sigverify.cli.main import main
from sigverify.core.batch.runs import batch_runs

README = Path(__file__).resolve().parents[1] / "README.md"


@pytest.fixture
def common(test_model, db_url) -> list[str]:
    return ["--db", db_url, "--model", str(test_model), "--device", "cpu"]


def test_readme_has_the_one_exit_code_table():
    text = README.read_text(encoding="utf-8")
    table = re.search(r"<!-- exit-codes -->\n((?:\|.*\n)+)", text)
    assert table, "the README lost its exit-code table"
    assert table.group(1).strip() == markdown_table()
    assert {int(code) for code in re.findall(r"^\| (\d+) \|", table.group(1), re.M)} == {int(c) for c in ExitCode}


def test_extract_on_an_unsigned_image_exits_5(signature_files, common, capsys):
    assert main(["extract", str(signature_files["blank"]), *common]) == ExitCode.NO_SIGNATURE
    assert "no signature found" in capsys.readouterr().out
    assert main(["extract", str(signature_files["a0"]), *common]) == ExitCode.OK


def test_folder_batch_without_a_mapping_is_refused_before_it_starts(signature_files, common, db_url, capsys):
    from sigverify.core.store import Store

    folder = signature_files["a0"].parent
    assert main(["batch", str(folder), "--workers", "0", "--no-progress", *common]) == ExitCode.BAD_REQUEST
    assert "--manifest" in capsys.readouterr().err
    assert Store(db_url).run(lambda c: c.execute(batch_runs.select()).first()) is None  # no run was started


def test_batch_exit_code_says_whether_items_failed(signature_files, common, tmp_path, capsys):
    assert main(["register", "A-1", str(signature_files["a0"]), str(signature_files["a1"]), *common]) == 0
    folder = tmp_path / "scans"
    folder.mkdir()
    shutil.copy(signature_files["a2"], folder / "A-1_cheque.png")
    shutil.copy(signature_files["b0"], folder / "Z-9_cheque.png")  # no such customer
    run = ["batch", str(folder), "--pattern", "(?P<customer>[^_]+)_", "--workers", "0", "--no-progress", *common]
    assert main(run) == ExitCode.SOME_ITEMS_FAILED
    (folder / "A-1_cheque.png").unlink()
    assert main(run) == ExitCode.ALL_ITEMS_FAILED
    (folder / "Z-9_cheque.png").unlink()
    shutil.copy(signature_files["a2"], folder / "A-1_cheque.png")
    assert main(run) == ExitCode.OK


def test_wrong_password_exits_8(common, tmp_path, monkeypatch):
    password = tmp_path / "root.pw"
    password.write_text("first-admin-password")
    assert main(["users", "add", "root", "--role", "administrator", "--new-password-file", str(password),
                 *common]) == 0
    monkeypatch.setenv("SIGVERIFY_PASSWORD", "not-the-password")
    assert main(["customers", "--user", "root", *common]) == ExitCode.NOT_ALLOWED
