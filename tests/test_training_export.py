"""A tiny model trained for a few steps on synthetic signatures: export, metadata, parity."""

from __future__ import annotations

import json

import numpy as np
import onnxruntime as ort
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("onnx")

from fixture_files import write_generic_layout  # noqa: E402

from sigverify.core.model_trust import ModelMetadata, sha256_file  # noqa: E402
from sigverify.core.normalize import NormalizationParams  # noqa: E402
from sigverify.synth.signatures import make_signature_set  # noqa: E402
from training.__main__ import main  # noqa: E402
from training.export import export_onnx, parity_check, read_metadata  # noqa: E402
from training.model import build_model, count_macs, count_params  # noqa: E402

TINY = ["--set", "model={embedding_size: 16, width: 8, dropout: 0.0}", "--set", "optim.epochs=2",
        "--set", "optim.steps_per_epoch=2", "--set", "optim.batch_writers=4", "--set", "data.val_writers=2",
        "--set", "data.external_test=[]", "--set", "threads=2"]


@pytest.fixture(scope="module")
def generic_root(tmp_path_factory):
    root = tmp_path_factory.mktemp("synthetic_generic")
    write_generic_layout(root, make_signature_set(6, 5, 2, seed=11))
    return root


def test_model_shape_params_macs():
    model = build_model({"embedding_size": 32, "width": 8}).eval()
    with torch.no_grad():
        emb = model(torch.rand(3, 1, 128, 256))
    assert emb.shape == (3, 32)
    assert torch.allclose(emb.norm(dim=1), torch.ones(3), atol=1e-5)
    assert count_params(model) > 0 and count_macs(model, 128, 256) > 0


def test_train_export_parity_cli(generic_root, tmp_path, monkeypatch):
    monkeypatch.setenv("SIGVERIFY_CACHE", str(tmp_path / "cache"))
    run = tmp_path / "run"
    assert main(["train", "--out", str(run), "--set", f"data.train=['generic:{generic_root}']", *TINY]) == 0
    for name in ("config.yaml", "best.pt", "last.pt", "thresholds.json", "summary.json", "history.json"):
        assert (run / name).exists(), name
    # checkpoints are plain dicts
    ck = torch.load(run / "last.pt", weights_only=True)
    assert {"model", "optimizer", "epoch"} <= set(ck)
    # resume continues from the last epoch without retraining it
    assert main(["train", "--out", str(run), "--resume", "--set", f"data.train=['generic:{generic_root}']",
                 *TINY]) == 0
    onnx_path = tmp_path / "m.onnx"
    assert main(["export", str(run), "--out", str(onnx_path), "--version", "test-1"]) == 0
    meta = read_metadata(onnx_path)
    assert meta.version == "test-1" and meta.embedding_size == 16
    assert meta.tau_reject <= meta.tau_accept
    assert meta.normalization == NormalizationParams()
    card = json.loads(onnx_path.with_name("m.onnx.card.json").read_text())
    assert card["sha256"] == sha256_file(onnx_path) and card["version"] == "test-1"
    assert card["parity"]["ok"]
    # dynamic batch axis, the contract's names
    sess = ort.InferenceSession(str(onnx_path), providers=["CPUExecutionProvider"])
    assert sess.get_inputs()[0].name == "signature" and sess.get_outputs()[0].name == "embedding"
    for n in (1, 5):
        out = sess.run(None, {"signature": np.random.rand(n, 1, 128, 256).astype(np.float32)})[0]
        assert out.shape == (n, 16)
        assert np.allclose(np.linalg.norm(out, axis=1), 1, atol=1e-5)


def test_parity_check_direct(tmp_path):
    torch.manual_seed(0)
    model = build_model({"embedding_size": 16, "width": 8, "dropout": 0.0}).eval()
    meta = ModelMetadata(version="t", normalization=NormalizationParams(), embedding_size=16,
                         tau_accept=0.8, tau_reject=0.3)
    path = export_onnx(model, meta, tmp_path / "p.onnx")
    res = parity_check(model, path, np.random.default_rng(0).random((6, 128, 256), dtype=np.float32))
    assert res.ok and res.max_abs_diff <= 1e-4 and res.decisions_equal
