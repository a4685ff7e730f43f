"""Model trust in one place: the typed card, the file against its card, the kind of network."""

from __future__ import annotations

import json

import pytest
from model_factory import build_test_model

from sigverify.core.engine import Engine, OnnxModel
from sigverify.core.model_trust import (
    FINDER,
    VERIFIER,
    ModelCard,
    ModelError,
    ModelMismatchError,
    check_model_file,
    inspect_model_file,
    is_bundled_model,
    read_metadata,
    sha256_file,
)
from sigverify.core.paths import bundled_model_path, card_path_for


def test_the_shipped_card_reads_typed_and_round_trips():
    path = card_path_for(bundled_model_path())
    if not path.is_file():
        pytest.skip(f"no shipped model card at {path}")
    raw = json.loads(path.read_text(encoding="utf-8"))
    card = ModelCard.read(path)
    assert card.kind == VERIFIER and card.sha256 == raw["sha256"] and card.version == raw["version"]
    assert card.metrics == raw["metrics"] and card.details["tau_accept"] == raw["tau_accept"]
    assert ModelCard.from_json(card.to_json()) == card
    # cards written before the card had a kind field read as a verifier's; newer ones store it
    assert {k: v for k, v in card.to_dict().items() if k != "kind" or "kind" in raw} == raw


def test_the_bundled_model_matches_its_card():
    model = bundled_model_path()
    if not model.is_file():
        pytest.skip(f"no bundled model at {model}")
    check = check_model_file(model)
    assert check.card_matches is True and check.sha256 == check.card.sha256
    assert is_bundled_model(model)


def test_card_written_for_a_file_is_checked_against_it(tmp_path):
    model = build_test_model(tmp_path / "m.onnx")
    card = ModelCard.for_file(model, version="t-1", architecture={"name": "tiny"})
    card.write(card_path_for(model))
    assert ModelCard.read(card_path_for(model)) == card and card.size_bytes == model.stat().st_size
    assert check_model_file(model, kind=VERIFIER).card_matches is True
    with pytest.raises(ModelError, match="is a verifier network by its card, not a finder"):
        check_model_file(model, kind=FINDER)
    model.write_bytes(model.read_bytes() + b"\0")
    with pytest.raises(ModelMismatchError, match="does not match its card"):
        check_model_file(model)
    digest = sha256_file(model)
    assert check_model_file(model, accepted={digest}).accepted
    state = inspect_model_file(model, {digest: {"accepted_by": "alice"}})
    assert state is not None and state.mismatch and state.accepted == {"accepted_by": "alice"}
    assert not state.bundled and not state.needs_acceptance


def test_a_card_of_an_unknown_kind_or_bad_json_is_refused(tmp_path):
    model = build_test_model(tmp_path / "m.onnx")
    card_path_for(model).write_text(json.dumps({"sha256": sha256_file(model), "kind": "toaster"}))
    with pytest.raises(ModelError, match="unknown kind"):
        check_model_file(model)
    card_path_for(model).write_text("{not json")
    with pytest.raises(ModelError, match="not valid JSON"):
        check_model_file(model)


def test_metadata_of_another_kind_is_refused_by_the_verifier_engine(tmp_path):
    props = {"sigverify": json.dumps({"kind": FINDER, "version": "f-1"})}
    assert read_metadata(props, "finder.onnx", FINDER)["version"] == "f-1"
    with pytest.raises(ModelError, match="is a finder network, not a verifier"):
        read_metadata(props, "finder.onnx", VERIFIER)
    with pytest.raises(ModelError, match="no sigverify metadata"):
        read_metadata({}, "plain.onnx")
    model = build_test_model(tmp_path / "m.onnx")
    loaded = OnnxModel(model, VERIFIER, device="cpu")  # the shared loader a finder network uses too
    assert loaded.providers == ["CPUExecutionProvider"] and "sigverify" in loaded.props
    assert Engine(model, device="cpu").metadata.kind == VERIFIER
