"""The engine loads, checks and runs a model; it refuses what it cannot trust."""

from __future__ import annotations

import json

import numpy as np
import onnx
import pytest
from model_factory import build_test_model

from sigverify.core.engine import Engine
from sigverify.core.model_trust import ModelError, sha256_file
from sigverify.core.normalize import NormalizationParams
from sigverify.core.paths import card_path_for


def test_metadata_read_back_and_cpu_providers(test_model):
    engine = Engine(test_model, device="cpu")
    meta = engine.metadata
    assert meta.version == "test-1" and meta.embedding_size == 32
    assert (meta.input_height, meta.input_width) == (NormalizationParams().height, NormalizationParams().width)
    assert engine.providers == ["CPUExecutionProvider"]
    assert engine.device_label == "CPU"


def test_auto_on_a_pc_without_cuda_says_it_runs_on_the_cpu(test_model, monkeypatch):
    # onnxruntime-gpu lists CUDA even where it cannot run it; the engine must report what it really uses
    import onnxruntime as ort

    monkeypatch.setattr(ort, "get_available_providers", lambda: ["CUDAExecutionProvider", "CPUExecutionProvider"])
    engine = Engine(test_model, device="auto")
    if "CUDAExecutionProvider" in engine.session.get_providers():
        pytest.skip("this machine really runs CUDA")
    assert engine.providers == ["CPUExecutionProvider"] and engine.device_label == "CPU"
    assert engine.fallback_message is not None and "running on the CPU" in engine.fallback_message
    with pytest.raises(ModelError, match="CUDA was asked for"):
        Engine(test_model, device="cuda")
    assert Engine(test_model, device="cpu").fallback_message is None  # asked for the CPU: nothing to say


def test_batched_embeddings_are_unit_and_batch_independent(test_model):
    engine = Engine(test_model, device="cpu")
    rng = np.random.default_rng(0)
    batch = rng.random((5, engine.metadata.input_height, engine.metadata.input_width), dtype=np.float32)
    together = engine.embed(batch, batch_size=64)
    one_by_one = np.concatenate([engine.embed(b[None]) for b in batch])
    assert np.allclose(np.linalg.norm(together, axis=1), 1.0, atol=1e-5)
    assert np.allclose(together, one_by_one, atol=1e-5)
    with pytest.raises(ValueError, match="expected"):
        engine.embed(batch[:, :10])


def test_missing_truncated_and_foreign_models(tmp_path, test_model):
    with pytest.raises(ModelError, match="not found"):
        Engine(tmp_path / "absent.onnx")
    truncated = tmp_path / "truncated.onnx"
    truncated.write_bytes(test_model.read_bytes()[:500])
    with pytest.raises(ModelError, match="not a loadable ONNX model"):
        Engine(truncated)
    foreign = build_test_model(tmp_path / "foreign.onnx", with_metadata=False)
    with pytest.raises(ModelError, match="no sigverify metadata"):
        Engine(foreign)


def test_card_checksum_mismatch_is_refused(tmp_path):
    model = build_test_model(tmp_path / "m.onnx")
    card = card_path_for(model)
    card.write_text(json.dumps({"sha256": sha256_file(model)}))
    assert Engine(model).check.card_matches is True
    other = onnx.load(str(build_test_model(tmp_path / "other.onnx", seed=5)))
    onnx.save(other, str(model))  # swapped file, same name
    with pytest.raises(ModelError, match="does not match its card"):
        Engine(model)
