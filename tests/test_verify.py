"""Register and verify through the core service, as the CLI and GUI use it."""

from __future__ import annotations

import pytest
from fixture_files import write_unsigned_cheque
from model_factory import build_test_model

from sigverify.core.engine import Engine
from sigverify.core.imaging import ImageLoadError
from sigverify.core.pipeline import Decision, NoSignatureError, Thresholds, decide
from sigverify.core.store import Store, UnknownCustomerError
from sigverify.core.verify import Verifier


@pytest.fixture
def verifier(test_model, db_url) -> Verifier:
    return Verifier(Engine(test_model, device="cpu"), Store(db_url))


def test_decision_bands():
    bands = Thresholds(accept=0.8, reject=0.6, source="model")
    assert decide(0.8, bands) is Decision.MATCH
    assert decide(0.7, bands) is Decision.REFER
    assert decide(0.6, bands) is Decision.REFER
    assert decide(0.59, bands) is Decision.NO_MATCH


def test_same_writer_scores_above_other_writer(verifier, signature_files):
    verifier.register("C-1", [signature_files["a0"], signature_files["a1"]], name="Writer A", user="admin")
    genuine = verifier.verify("C-1", signature_files["a2"], user="clerk")
    other = verifier.verify("C-1", signature_files["b0"], user="clerk")
    assert genuine.score > other.score
    assert len(genuine.reference_scores) == 2
    assert genuine.score == max(r.score for r in genuine.reference_scores)
    assert genuine.box is None  # a crop, not a cheque
    assert genuine.record_id is not None
    row = verifier.store.verification(genuine.record_id)
    assert row.decision == genuine.decision.value and row.user == "clerk"


def test_final_decision_recorded(verifier, signature_files):
    verifier.register("C-1", [signature_files["a0"]])
    result = verifier.verify("C-1", signature_files["a1"])
    verifier.record_final_decision(result.record_id, "refer_to_supervisor", "clerk")
    assert verifier.store.verification(result.record_id).final_decision == "refer_to_supervisor"
    with pytest.raises(ValueError):
        verifier.record_final_decision(result.record_id, "maybe", "clerk")


def test_blank_registration_writes_nothing(verifier, signature_files):
    with pytest.raises(NoSignatureError, match="(no ink|no signature)"):
        verifier.register("C-2", [signature_files["a0"], signature_files["blank"]])
    assert verifier.store.get_customer("C-2") is None


def test_unknown_customer_and_unreadable_file(verifier, signature_files, tmp_path):
    with pytest.raises(UnknownCustomerError):
        verifier.verify("nobody", signature_files["a0"])
    verifier.register("C-1", [signature_files["a0"]])
    broken = tmp_path / "broken.jpg"
    broken.write_bytes(b"\xff\xd8\xff garbage")
    with pytest.raises(ImageLoadError, match="broken.jpg"):
        verifier.verify("C-1", broken)


def test_administrator_threshold_override(verifier):
    assert verifier.thresholds().source == "model"
    verifier.set_thresholds(0.95, 0.5, user="admin")
    assert verifier.thresholds() == Thresholds(0.95, 0.5, "administrator")
    with pytest.raises(ValueError):
        verifier.set_thresholds(0.3, 0.5, user="admin")
    verifier.set_thresholds(None, None, user="admin")
    assert verifier.thresholds().source == "model"


def test_model_upgrade_recomputes_reference_embeddings(tmp_path, db_url, signature_files):
    old = Verifier(Engine(build_test_model(tmp_path / "v1.onnx", version="v1"), "cpu"), Store(db_url))
    old.register("C-1", [signature_files["a0"]])
    new = Verifier(Engine(build_test_model(tmp_path / "v2.onnx", version="v2", seed=9), "cpu"), Store(db_url))
    assert new.refresh_stale_embeddings() == 1
    [ref] = new.store.references_for("C-1")
    assert ref.model_version == "v2"
    assert new.verify("C-1", signature_files["a0"]).score == pytest.approx(1.0, abs=1e-4)


def test_an_unsigned_cheque_is_a_recorded_refer_with_the_reason(verifier, signature_files, tmp_path):
    verifier.register("C-1", [signature_files["a0"]])
    cheque = write_unsigned_cheque(tmp_path / "unsigned.png")
    result = verifier.verify("C-1", cheque, user="clerk")
    assert result.decision is Decision.REFER and result.score is None and result.reference_scores == []
    assert result.reason == "no signature found on the cheque: a person must check it"
    assert result.best_reference_id is None and result.box is None and result.file_sha256
    row = verifier.store.verification(result.record_id)
    assert row.decision == "refer" and row.score is None and row.user == "clerk"
    # looking for the signature alone still says there is none, and so does registering it
    with pytest.raises(NoSignatureError, match="no signature found"):
        verifier.prepare(cheque)
    with pytest.raises(NoSignatureError):
        verifier.register("C-1", [cheque])
    # a customer without references is still told so, not referred
    verifier.store.add_customer("C-3", name="No refs")
    with pytest.raises(NoSignatureError, match="no reference"):
        verifier.verify("C-3", cheque)


def test_a_clean_crop_and_a_blank_page_are_never_referred_as_unsigned(verifier, signature_files):
    verifier.register("C-1", [signature_files["a0"]])
    assert verifier.verify("C-1", signature_files["a1"]).score is not None
    with pytest.raises(NoSignatureError):  # blank: bad input, an error as before
        verifier.verify("C-1", signature_files["blank"])
