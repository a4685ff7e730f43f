"""`sigverify evaluate ROOT` on a generated folder, through the app's own code path."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from fixture_files import write_generic_layout

from sigverify.synth.signatures import make_signature_set

SHIPPED = Path(__file__).resolve().parents[1] / "models" / "sigverify.onnx"
KEYS = {"eer_skilled", "eer_random", "frr_at_far_1pct", "auc", "writers", "queries", "references"}


@pytest.fixture(scope="module")
def folder(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("eval_root")
    write_generic_layout(root, make_signature_set(4, 7, 3, seed=5))
    (root / "notes.txt").write_text("ignored")
    return root


@pytest.fixture(scope="module")
def model_path(tmp_path_factory) -> Path:
    if SHIPPED.is_file():
        return SHIPPED
    torch = pytest.importorskip("torch")
    from sigverify.core.model_trust import ModelMetadata
    from sigverify.core.normalize import NormalizationParams
    from training.export import export_onnx
    from training.model import build_model

    torch.manual_seed(0)
    meta = ModelMetadata(version="t", normalization=NormalizationParams(), embedding_size=16,
                         tau_accept=0.9, tau_reject=0.5)
    return export_onnx(build_model({"embedding_size": 16, "width": 8}).eval(), meta,
                       tmp_path_factory.mktemp("m") / "tiny.onnx")


@pytest.mark.parametrize("k", [1, 5])
def test_evaluate_json(folder, model_path, tmp_path, capsys, k):
    from sigverify.cli.main import main

    rc = main(["evaluate", str(folder), "--references", str(k), "--json", "--model", str(model_path),
               "--device", "cpu", "--db", f"sqlite:///{tmp_path / 'x.db'}"])
    assert rc == 0
    out = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert KEYS <= set(out)
    assert out["writers"] == 4 and out["references"] == k
    # per writer: 7-k genuine, 3 skilled, 3*7 random queries
    assert out["queries"] == 4 * ((7 - k) + 3 + 21)
    for key in ("eer_skilled", "eer_random", "frr_at_far_1pct"):
        assert 0.0 <= out[key] <= 1.0
    assert 0.0 <= out["auc"] <= 1.0


def test_evaluate_text_and_errors(folder, model_path, tmp_path, capsys):
    from sigverify.cli.main import main

    db = f"sqlite:///{tmp_path / 'y.db'}"
    assert main(["evaluate", str(folder), "--model", str(model_path), "--device", "cpu", "--db", db]) == 0
    assert "EER" in capsys.readouterr().out
    # more references than any writer has genuine signatures
    assert main(["evaluate", str(folder), "--references", "9", "--model", str(model_path), "--db", db]) != 0
    assert main(["evaluate", str(tmp_path / "missing"), "--model", str(model_path), "--db", db]) != 0
