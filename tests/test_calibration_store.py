# ruff: noqa: F811 - the fixtures imported from test_security are redefined as parameters
"""Calibration on the store's own verifications: labels, apply / revert audited, model change, folder."""

from __future__ import annotations

import shutil

import numpy as np
import pytest
from fixture_files import add_records, write_signature
from model_factory import build_test_model
from test_security import admin, cheap_argon2, clerk, engine, store, users  # noqa: F401 - shared fixtures

from sigverify.core.calibration_data import folder_scores, propose, set_label_policy, store_scores
from sigverify.core.calibration_history import (
    apply_calibration,
    calibration_history,
    calibration_status,
    revert_calibration,
)
from sigverify.core.engine import Engine
from sigverify.core.security import (
    AuditLog,
    PermissionDenied,
    table_problems,
)
from sigverify.core.session import open_session


def bank_history(store, seed=0):
    rng = np.random.default_rng(seed)
    add_records(store, rng.normal(0.8, 0.05, 400), "accept", "alice")
    add_records(store, rng.normal(0.3, 0.1, 350), "reject", "alice", k=3)


def test_only_final_supervisor_decisions_are_labels_unless_the_policy_says_clerk(store, admin, clerk):
    add_records(store, [0.9], "accept", "alice")
    add_records(store, [0.2], "reject", "alice")
    add_records(store, [0.85], "accept", "bob")  # a clerk's own decision
    add_records(store, [0.7], "refer_to_supervisor", "bob")
    add_records(store, [0.6], None, None)
    add_records(store, [0.99], "accept", "alice", model="old-model")
    scores = store_scores(store, "test-1")
    labels = {s.score: s.genuine for s in scores.samples}
    assert labels == {0.9: True, 0.2: False, 0.85: None, 0.7: None, 0.6: None}
    assert scores.left_out == {"made with another model version": 1, "unlabelled: no final decision": 1,
                               "unlabelled: referred to a supervisor, no outcome": 1,
                               "unlabelled: decided by a clerk, not confirmed (label policy: supervisor)": 1}
    with pytest.raises(PermissionDenied):
        set_label_policy(store, clerk, "clerk", AuditLog(store))
    set_label_policy(store, admin, "clerk", AuditLog(store))
    assert store_scores(store, "test-1").genuine == 2  # the clerk's accept counts now
    last = list(AuditLog(store).records())[-1]
    assert last.action == "set_calibration_label_policy" and last.details == {"policy": "clerk",
                                                                              "previous": "supervisor"}


def test_apply_and_revert_are_audited_with_the_data(engine, store, admin, clerk):
    bank_history(store)
    audit = AuditLog(store)
    verifier = open_session(engine, store, admin)
    model_thresholds = verifier.thresholds()
    with pytest.raises(PermissionDenied):
        propose(open_session(engine, store, clerk), clerk)
    proposal = propose(verifier, admin)
    assert proposal.overall.genuine == 400 and proposal.overall.forged == 350
    assert [g.references for g in proposal.per_k] == [1, 3]
    assert verifier.thresholds() == model_thresholds  # proposing changes nothing
    with pytest.raises(PermissionDenied):
        apply_calibration(store, clerk, proposal, "test-1", audit)

    event = apply_calibration(store, admin, proposal, "test-1", audit)
    now = verifier.thresholds()
    assert (now.accept, now.reject, now.source) == (proposal.overall.proposed.accept,
                                                    proposal.overall.proposed.reject, "administrator")
    record = list(audit.records(actions=("apply_calibration",)))[-1]
    assert record.id == event.audit_id and record.user == "alice"
    assert len(record.details["calibration"]["samples"]) == 750  # the data it was computed from
    assert record.details["fingerprint"] == proposal.fingerprint and record.details["previous"] is None
    assert audit.verify().ok and not [p for p in table_problems(store) if "thresholds" in p]

    with pytest.raises(PermissionDenied):
        revert_calibration(store, clerk, audit)
    reverted = revert_calibration(store, admin, audit)
    assert reverted.reverted_id == event.audit_id and verifier.thresholds() == model_thresholds
    assert [e.action for e in calibration_history(audit)] == ["apply_calibration", "revert_calibration"]
    assert not [p for p in table_problems(store) if "thresholds" in p]
    with pytest.raises(ValueError, match="no calibration is in force"):
        revert_calibration(store, admin, audit)


def test_a_model_update_invalidates_the_calibration_but_keeps_its_history(tmp_path, engine, store, admin):
    bank_history(store)
    audit = AuditLog(store)
    proposal = propose(open_session(engine, store, admin), admin)
    apply_calibration(store, admin, proposal, "test-1", audit)
    newer = Engine(build_test_model(tmp_path / "v2.onnx", version="test-2", seed=2), device="cpu")
    verifier = open_session(newer, store, admin)
    t = verifier.thresholds()
    assert t.source == "model" and (t.accept, t.reject) == (newer.metadata.tau_accept, newer.metadata.tau_reject)
    status = calibration_status(store, "test-2")
    assert not status.applies and "made for model test-1" in status.message
    assert len(calibration_history(audit)) == 1
    with pytest.raises(ValueError, match="compute it again"):
        apply_calibration(store, admin, proposal, "test-2", audit)
    # the new model's scores: none recorded yet, so nothing to calibrate from
    with pytest.raises(ValueError, match="no labelled verification"):
        propose(verifier, admin)


def test_a_labelled_folder_is_scored_through_the_app(tmp_path, engine, store, admin):
    verifier = open_session(engine, store, admin)
    refs = [write_signature(tmp_path / "refs" / f"r{i}.png", 11, 100 + i) for i in range(2)]
    verifier.register("C-1", refs)
    root = tmp_path / "labelled"
    for i in range(3):
        write_signature(root / "C-1" / "genuine" / f"g{i}.png", 11, 200 + i)
        write_signature(root / "C-1" / "forged" / f"f{i}.png", 11, 300 + i, forged=True)
    shutil.copy(refs[0], root / "C-1" / "genuine" / "is-a-reference.png")
    write_signature(root / "NOBODY" / "genuine" / "x.png", 22, 1)
    scores = folder_scores(verifier, root)
    assert scores.genuine == 3 and scores.forged == 3
    assert {s.references for s in scores.samples} == {2}
    assert len(scores.skipped) == 2
    assert any("one of the customer's references" in s for s in scores.skipped)
    assert any("NOBODY" in s and "not registered" in s for s in scores.skipped)
    proposal = propose(verifier, admin, use_store=False, folder=root)
    assert not proposal.overall.anything_proposed  # 3 of each: far too few, both sides refused
    assert "at least 299" in proposal.overall.accept.reason
    assert store.verification(1) is None  # scoring a folder records nothing


def test_real_signatures_too_few_forgeries_are_refused(tmp_path, datasets, store, admin):
    """SigComp2009 preview (12 writers, 5 genuine and 5 forged each) through the shipped model:
    a bank with 60 forgeries gets no match threshold, in words; the genuine side neither (48)."""
    source = datasets / "nisdcc-preview" / "data"
    root = tmp_path / "labelled"
    for path in sorted(source.glob("*.png")) + sorted((source / "forged").glob("*.png")):
        kind = "forged" if path.parent.name == "forged" else "genuine"
        target = root / path.stem.split("_")[0][-3:] / kind / path.name
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(path, target)
    verifier = open_session(Engine(device="cpu"), store, admin)
    for writer in sorted(p.name for p in root.iterdir()):
        verifier.register(writer, [sorted((root / writer / "genuine").iterdir())[0]])
    proposal = propose(verifier, admin, use_store=False, folder=root)
    g = proposal.overall
    assert (g.genuine, g.forged) == (48, 60) and len(proposal.skipped) == 12  # the references themselves
    assert not g.anything_proposed and "60 forgeries from 12 customer(s)" in g.accept.reason
    assert "at least 299" in g.accept.reason
    # real forgeries of one writer resemble each other: they are worth fewer independent ones
    assert g.accept.clustering.design_effect > 2 and g.reject.clustering.design_effect > 2
    assert g.proposed == g.current  # nothing would change
    assert g.far_now.trials == 60 and g.far_now.ci_high > g.far_now.rate  # what today's threshold does, honestly


def test_each_reference_count_gets_its_own_thresholds_where_its_data_suffices(engine, store, admin):
    """The best of 3 scores runs higher than one score: K = 3 gets its own, higher match threshold."""
    rng = np.random.default_rng(7)
    add_records(store, rng.normal(0.80, 0.05, 400), "accept", "alice", k=1)
    add_records(store, rng.normal(0.30, 0.10, 350), "reject", "alice", k=1)
    add_records(store, rng.normal(0.88, 0.03, 400), "accept", "alice", k=3)
    add_records(store, rng.normal(0.50, 0.10, 350), "reject", "alice", k=3)
    add_records(store, rng.normal(0.90, 0.03, 20), "accept", "alice", k=5)  # too few for its own
    verifier = open_session(engine, store, admin)
    proposal = propose(verifier, admin)
    k1, k3, k5 = proposal.per_k
    assert k3.accept.threshold > k1.accept.threshold and not k5.anything_proposed
    by_k = {k: (a, r) for k, a, r in proposal.by_references}
    assert by_k[1][0] == k1.accept.threshold and by_k[3][0] == k3.accept.threshold
    assert by_k[5] == (proposal.overall.accept.threshold, min(proposal.overall.reject.threshold,
                                                              proposal.overall.accept.threshold))
    apply_calibration(store, admin, proposal, "test-1", AuditLog(store))
    t = verifier.thresholds()
    assert t.for_references(3).accept == k3.accept.threshold and t.for_references(1).accept == k1.accept.threshold
    assert t.for_references(4).accept == k3.accept.threshold  # the nearest listed count below
    assert not [p for p in table_problems(store) if "thresholds" in p]
