"""The CLI through its real entry point (a subprocess running the installed console script)."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys

import pytest
from fixture_files import write_unsigned_cheque


def sigverify(*args, env=None, check=False):
    exe = shutil.which("sigverify")
    command = [exe] if exe else [sys.executable, "-m", "sigverify"]
    result = subprocess.run([*command, *map(str, args)], capture_output=True, text=True, env=env, timeout=120)
    if check and result.returncode != 0:
        raise AssertionError(result.stderr)
    return result


@pytest.fixture
def common(test_model, db_url):
    return ["--db", db_url, "--model", test_model, "--device", "cpu"]


def test_register_then_verify_json(common, signature_files):
    out = sigverify("register", "C-7", signature_files["a0"], signature_files["a1"], "--name", "Ann", "--json",
                    *common, check=True)
    registered = json.loads(out.stdout)
    assert registered["customer_id"] == "C-7" and len(registered["reference_ids"]) == 2
    out = sigverify("verify", "C-7", signature_files["a2"], "--json", *common, check=True)
    result = json.loads(out.stdout)
    assert set(result) >= {"customer_id", "score", "decision", "thresholds", "reference_scores", "model",
                           "providers", "box"}
    assert result["decision"] in ("match", "refer", "no_match")
    assert result["providers"] == ["CPUExecutionProvider"] and result["box"] is None
    listed = [json.loads(line) for line in sigverify("customers", "--json", *common, check=True).stdout.splitlines()]
    assert listed == [{**listed[0], "customer_id": "C-7", "name": "Ann", "references": 2}]


def test_errors_go_to_stderr_with_nonzero_exit(common, signature_files, tmp_path):
    unknown = sigverify("verify", "nobody", signature_files["a0"], "--json", *common)
    assert unknown.returncode != 0 and "unknown customer" in unknown.stderr and unknown.stdout == ""
    blank = sigverify("register", "C-8", signature_files["blank"], *common)
    assert blank.returncode != 0 and ("no ink" in blank.stderr or "no signature" in blank.stderr)
    assert json.loads(sigverify("customers", "--json", *common).stdout or "null") is None  # nothing half-written
    bad_model = tmp_path / "bad.onnx"
    bad_model.write_bytes(b"not a model")
    wrong = sigverify("info", "--db", common[1], "--model", bad_model)
    assert wrong.returncode != 0 and "bad.onnx" in wrong.stderr and "Traceback" not in wrong.stderr


def test_info_names_providers_and_database(common):
    out = json.loads(sigverify("info", "--json", *common, check=True).stdout)
    assert out["providers"] == ["CPUExecutionProvider"] and out["device"] == "CPU"
    assert out["model"]["version"] == "test-1" and out["database"].endswith("store.db")
    # the bundled signature finder network, or the rules alone with the reason
    finder = out["finder"]
    assert (finder["model"] or "").endswith("finder.onnx") and finder["version"] and finder["note"] is None, finder
    text = sigverify("info", *common, check=True).stdout
    assert f"finder    {finder['method']} (network" in text


def test_thresholds_override(common):
    out = json.loads(sigverify("thresholds", "--accept", "0.95", "--reject", "0.4", "--json", *common,
                               check=True).stdout)
    assert out == {"accept": 0.95, "reject": 0.4, "source": "administrator"}


def test_register_checks_every_image_and_names_every_bad_one(common, signature_files, tmp_path):
    broken = tmp_path / "broken.png"
    broken.write_bytes(b"not a png")
    out = sigverify("register", "C-9", signature_files["blank"], signature_files["a0"], broken, *common)
    assert out.returncode == 4, out.stderr  # the worst refusal: a file that cannot be read
    assert "blank.png" in out.stderr and "broken.png" in out.stderr and "nothing registered" in out.stderr
    assert "Traceback" not in out.stderr
    assert sigverify("customers", "--json", *common).stdout == ""  # none registered


def test_cuda_note_only_where_signatures_are_compared(common, signature_files, monkeypatch, capsys):
    from sigverify.cli.main import main
    from sigverify.core import session

    class FallingBackEngine(session.Engine):
        fallback_message = "CUDA cannot be used here (test): running on the CPU"

    monkeypatch.setattr(session, "Engine", FallingBackEngine)  # the one place an engine is loaded
    options = [str(a) for a in common]
    assert main(["thresholds", *options]) == 0
    assert "CUDA" not in capsys.readouterr().err
    assert main(["register", "C-3", str(signature_files["a0"]), *options]) == 0
    assert capsys.readouterr().err.count("CUDA cannot be used") == 1


def test_an_unsigned_cheque_is_referred_to_a_person_not_an_error(common, signature_files, tmp_path):
    cheque = write_unsigned_cheque(tmp_path / "unsigned.png")
    sigverify("register", "C-9", signature_files["a0"], *common, check=True)
    text = sigverify("verify", "C-9", cheque, *common)
    assert text.returncode == 0 and "error" not in text.stderr
    assert text.stdout.strip() == "Refer: no signature found on the cheque: a person must check it"
    result = json.loads(sigverify("verify", "C-9", cheque, "--json", *common, check=True).stdout)
    assert result["decision"] == "refer" and result["score"] is None and result["reference_scores"] == []
    assert result["reason"] == "no signature found on the cheque: a person must check it"
    assert result["record_id"] is not None and result["box"] is None
    # recorded and audited like any verification: the trail still checks out
    assert sigverify("audit", "verify", *common).returncode == 0
    # extract only looks for the signature: there is none, exit 5 as before
    assert sigverify("extract", cheque, *common).returncode == 5
