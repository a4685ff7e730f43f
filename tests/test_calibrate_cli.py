"""`sigverify calibrate` through the real entry point: proposal, apply, history, revert."""

from __future__ import annotations

import json

import numpy as np
import pytest
from fixture_files import add_records
from model_factory import build_test_model
from test_cli import sigverify

from sigverify.core.security import open_store

SUPERVISOR = "bootstrap:tester"  # a store without users: every decision is the first administrator's


@pytest.fixture
def common(test_model, db_url):
    return ["--db", db_url, "--model", test_model, "--device", "cpu"]


def test_propose_apply_history_revert(common, db_url, tmp_path):
    store = open_store(db_url)
    rng = np.random.default_rng(5)
    add_records(store, rng.normal(0.8, 0.05, 400), "accept", SUPERVISOR, customers=400)
    add_records(store, rng.normal(0.3, 0.1, 320), "reject", SUPERVISOR, customers=320)
    add_records(store, [0.5] * 30, "refer_to_supervisor", "bob")

    before = json.loads(sigverify("thresholds", "--json", *common, check=True).stdout)
    proposal = json.loads(sigverify("calibrate", "--json", *common, check=True).stdout)
    overall = proposal["overall"]
    assert overall["genuine"] == 400 and overall["forged"] == 320 and overall["unlabelled"] == 30
    accept = overall["accept"]
    assert accept["threshold"] is not None and accept["estimate"]["trials"] == 320
    assert accept["estimate"]["upper_bound"] <= 0.01 and accept["min_samples"] == 299
    assert accept["clustering"]["customers"] == 320 and accept["customer_upper_bound"] <= 0.01
    assert overall["outcomes_now"]["scores"] == 750 and proposal["applied"] is None
    assert proposal["left_out"] == {"unlabelled: referred to a supervisor, no outcome": 30}
    assert json.loads(sigverify("thresholds", "--json", *common, check=True).stdout) == before

    applied = json.loads(sigverify("calibrate", "--apply", "--json", *common, check=True).stdout)
    now = json.loads(sigverify("thresholds", "--json", *common, check=True).stdout)
    assert now == {**overall["proposed"], "source": "administrator"}
    assert applied["applied"]["audit_id"] > 0 and applied["status"]["applies"]
    history = json.loads(sigverify("calibrate", "--history", "--json", *common, check=True).stdout)
    assert [e["action"] for e in history["history"]] == ["apply_calibration"]

    # a model update sets the calibration aside, and says so
    newer = build_test_model(tmp_path / "v2.onnx", version="test-2", seed=2)
    other = sigverify("thresholds", "--json", "--db", db_url, "--model", newer, "--device", "cpu", check=True)
    assert json.loads(other.stdout)["source"] == "model" and "made for model test-1" in other.stderr

    text = sigverify("calibrate", "--revert", *common, check=True).stdout
    assert "reverted" in text
    assert json.loads(sigverify("thresholds", "--json", *common, check=True).stdout) == before


def test_too_few_forgeries_are_refused_in_words(common, db_url):
    store = open_store(db_url)
    add_records(store, np.linspace(0.6, 0.95, 400), "accept", SUPERVISOR, customers=400)
    add_records(store, np.linspace(0.1, 0.5, 40), "reject", SUPERVISOR, customers=40)
    out = sigverify("calibrate", *common, check=True).stdout
    assert "match at or above: REFUSED, 40 forgeries: at least 299 independent ones are needed" in out
    assert "no match below 0." in out  # the genuine side has enough data
    data = json.loads(sigverify("calibrate", "--json", *common, check=True).stdout)
    assert data["overall"]["accept"]["threshold"] is None
    assert data["overall"]["proposed"]["accept"] == data["overall"]["current"]["accept"]


def test_nothing_labelled_is_an_error_not_a_proposal(common):
    result = sigverify("calibrate", *common)
    assert result.returncode == 1 and "no labelled verification" in result.stderr and not result.stdout
