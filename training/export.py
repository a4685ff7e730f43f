"""ONNX export with the sigverify metadata, onnx.checker, and the onnxruntime/torch parity check."""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import onnx
import torch

from sigverify.core.engine import inference_session
from sigverify.core.model_trust import METADATA_KEY, ModelMetadata, read_verifier_metadata

OPSET = 17


def export_onnx(model: torch.nn.Module, meta: ModelMetadata, out_path: Path) -> Path:
    """Write the model (dynamic batch) with ``meta`` in metadata_props; checked by onnx.checker."""
    model = model.cpu().eval()
    out_path.parent.mkdir(parents=True, exist_ok=True)
    dummy = torch.zeros(2, 1, meta.input_height, meta.input_width)
    tmp = out_path.with_suffix(".tmp.onnx")
    with warnings.catch_warnings():
        # the TorchScript exporter is deprecated but handles this plain CNN without onnxscript
        warnings.simplefilter("ignore")
        torch.onnx.export(
            model, (dummy,), str(tmp), input_names=[meta.input_name], output_names=[meta.output_name],
            dynamic_axes={meta.input_name: {0: "batch"}, meta.output_name: {0: "batch"}},
            opset_version=OPSET, dynamo=False,
        )
    proto = onnx.load(str(tmp))
    del proto.metadata_props[:]
    entry = proto.metadata_props.add()
    entry.key, entry.value = METADATA_KEY, meta.to_json()
    proto.producer_name = "sigverify-training"
    onnx.checker.check_model(proto, full_check=True)
    onnx.save(proto, str(out_path))
    tmp.unlink(missing_ok=True)
    return out_path


def read_metadata(path: Path) -> ModelMetadata:
    """The verifier metadata of an exported file, read and checked as the app reads it."""
    return read_verifier_metadata(ort_session(path).get_modelmeta().custom_metadata_map, Path(path).name)


def ort_session(path: Path, threads: int = 1):
    """The app's own session set-up (sigverify.core.engine), on the CPU."""
    return inference_session(path, "cpu", threads)


def _decide(scores: np.ndarray, tau_accept: float, tau_reject: float) -> np.ndarray:
    return np.where(scores >= tau_accept, 2, np.where(scores < tau_reject, 0, 1))


@dataclass
class ParityResult:
    max_abs_diff: float
    decisions_equal: bool
    pairs: int
    borderline_pairs: int  # torch score within the tolerance of a threshold: not compared
    ok: bool

    def to_dict(self) -> dict:
        return {"max_abs_diff": self.max_abs_diff, "decisions_equal": self.decisions_equal,
                "pairs": self.pairs, "borderline_pairs": self.borderline_pairs, "ok": self.ok,
                "tolerance": 1e-4}


def parity_check(model: torch.nn.Module, onnx_path: Path, images: np.ndarray, tol: float = 1e-4
                 ) -> ParityResult:
    """Embeddings of ``images`` (N,H,W float in [0,1]) by torch and onnxruntime, batched and one
    by one, within ``tol``; and the same match/refer/no_match decisions on all pairs."""
    meta = read_metadata(onnx_path)
    x = images.astype(np.float32)[:, None]
    model = model.cpu().eval()
    with torch.no_grad():
        ref = model(torch.from_numpy(x)).numpy()
    sess = ort_session(onnx_path)
    got = sess.run([meta.output_name], {meta.input_name: x})[0]
    single = np.concatenate([sess.run([meta.output_name], {meta.input_name: x[i : i + 1]})[0]
                             for i in range(min(len(x), 4))])
    diff = max(float(np.abs(ref - got).max()), float(np.abs(ref[: len(single)] - single).max()))
    s_ref, s_got = ref @ ref.T, got @ got.T
    iu = np.triu_indices(len(x), 1)
    a, b = s_ref[iu], s_got[iu]
    # a score within tol of a threshold may legitimately fall either side of it: the
    # embeddings agree to tol, so only pairs clear of both thresholds must decide alike
    clear = (np.abs(a - meta.tau_accept) > tol) & (np.abs(a - meta.tau_reject) > tol)
    same = bool(np.array_equal(_decide(a[clear], meta.tau_accept, meta.tau_reject),
                               _decide(b[clear], meta.tau_accept, meta.tau_reject)))
    return ParityResult(diff, same, int(a.size), int((~clear).sum()), diff <= tol and same)


def cpu_latency_ms(onnx_path: Path, height: int, width: int, repeats: int = 100) -> dict:
    """Median ms per single-signature embedding on ONE CPU thread in onnxruntime."""
    import time

    sess = ort_session(onnx_path, threads=1)
    meta = read_metadata(onnx_path)
    x = np.random.default_rng(0).random((1, 1, height, width), dtype=np.float32)
    for _ in range(10):
        sess.run(None, {meta.input_name: x})
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        sess.run(None, {meta.input_name: x})
        times.append((time.perf_counter() - t) * 1000)
    return {"median_ms": float(np.median(times)), "p90_ms": float(np.percentile(times, 90)),
            "threads": 1, "provider": "CPUExecutionProvider"}
