"""A small ONNX signature model built by the test suite (no torch): fixed random convolutions.

Random convolutional features are already a crude shape descriptor, so the same signature
scores ~1 against itself and clearly lower against another writer; enough to test the
plumbing (metadata, batching, decisions) without the trained model.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

from sigverify.core.model_trust import METADATA_KEY, ModelMetadata
from sigverify.core.normalize import NormalizationParams


def build_test_model(path: Path, version: str = "test-1", embedding_size: int = 32,
                     params: NormalizationParams | None = None, tau_accept: float = 0.9,
                     tau_reject: float = 0.75, with_metadata: bool = True, seed: int = 0,
                     thresholds_by_references: dict | None = None) -> Path:
    params = params or NormalizationParams()
    rng = np.random.default_rng(seed)
    w1 = rng.normal(0, 0.3, (8, 1, 5, 5)).astype(np.float32)
    w2 = rng.normal(0, 0.15, (16, 8, 3, 3)).astype(np.float32)
    fc = rng.normal(0, 0.3, (16 * 4 * 8, embedding_size)).astype(np.float32)
    inits = [numpy_helper.from_array(a, n) for a, n in ((w1, "w1"), (w2, "w2"), (fc, "fc"))]
    inits.append(numpy_helper.from_array(np.array([0, -1], np.int64), "flat_shape"))
    nodes = [
        helper.make_node("Conv", ["signature", "w1"], ["c1"], strides=[2, 2], pads=[2, 2, 2, 2]),
        helper.make_node("Relu", ["c1"], ["r1"]),
        helper.make_node("MaxPool", ["r1"], ["p1"], kernel_shape=[2, 2], strides=[2, 2]),
        helper.make_node("Conv", ["p1", "w2"], ["c2"], strides=[2, 2], pads=[1, 1, 1, 1]),
        helper.make_node("Relu", ["c2"], ["r2"]),
        # fixed 4 x 8 grid keeps where the ink is, which global pooling would throw away
        helper.make_node("AveragePool", ["r2"], ["g"], kernel_shape=[params.height // 32, params.width // 64],
                         strides=[params.height // 32, params.width // 64]),
        helper.make_node("Reshape", ["g", "flat_shape"], ["flat"]),
        helper.make_node("MatMul", ["flat", "fc"], ["raw"]),
        helper.make_node("LpNormalization", ["raw"], ["embedding"], axis=1, p=2),
    ]
    graph = helper.make_graph(
        nodes, "sigverify_test",
        [helper.make_tensor_value_info("signature", TensorProto.FLOAT, ["batch", 1, params.height, params.width])],
        [helper.make_tensor_value_info("embedding", TensorProto.FLOAT, ["batch", embedding_size])],
        inits,
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    if with_metadata:
        meta = ModelMetadata(version=version, normalization=params, embedding_size=embedding_size,
                             tau_accept=tau_accept, tau_reject=tau_reject, training_data="none (test model)",
                             thresholds_by_references=thresholds_by_references or {})
        helper.set_model_props(model, {METADATA_KEY: meta.to_json()})
    onnx.checker.check_model(model)
    path.parent.mkdir(parents=True, exist_ok=True)
    onnx.save(model, str(path))
    return path
