"""The ONNX networks: load one under the trust rules (model_trust), pick providers, embed signatures.

onnxruntime-gpu lists CUDAExecutionProvider even on a PC without CUDA and silently falls
back to CPU when the session cannot use it, so the engine reports what the session really
uses (``session.get_providers()``) and says plainly when CUDA was asked for but not given.
"""

from __future__ import annotations

import time
from collections.abc import Collection
from pathlib import Path

import numpy as np
import onnxruntime as ort

from .model_trust import VERIFIER, ModelCheck, ModelError, ModelMetadata, check_model_file, read_verifier_metadata
from .paths import bundled_model_path

DEVICES = ("auto", "cpu", "cuda")
CUDA = "CUDAExecutionProvider"
CPU = "CPUExecutionProvider"


def _providers_for(device: str) -> list:
    available = ort.get_available_providers()
    if device == "cpu":
        return [CPU]
    if CUDA not in available:
        if device == "cuda":
            raise ModelError("CUDA was asked for, but this onnxruntime has no CUDA provider")
        return [CPU]
    # HEURISTIC: cuDNN's exhaustive search costs seconds at start for a model this small
    return [(CUDA, {"cudnn_conv_algo_search": "HEURISTIC"}), CPU]


def inference_session(path: Path, device: str = "cpu", threads: int | None = None) -> ort.InferenceSession:
    """An onnxruntime session on ``device``'s providers, without the trust checks (OnnxModel adds
    them; training uses this bare one on a file it has just exported, before its card exists)."""
    options = ort.SessionOptions()
    options.log_severity_level = 3  # the fallback is reported by us, in words
    if threads:
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
    # onnxruntime logs a red error when CUDA libraries are missing; we report the fallback in words
    ort.set_default_logger_severity(4)
    try:
        return ort.InferenceSession(str(path), options, providers=_providers_for(device))
    except Exception as exc:  # onnxruntime raises its own untyped errors for damaged files
        raise ModelError(f"{Path(path).name} is not a loadable ONNX model: {exc}") from exc
    finally:
        ort.set_default_logger_severity(2)


class OnnxModel:
    """One ONNX network loaded under the trust rules (model_trust) on the providers asked for.

    The verifier (``Engine``) and a learned signature finder share it: same checks, same device
    choice, same plain report of what onnxruntime really uses. ``props``: the file's metadata_props.
    """

    def __init__(self, model_path: str | Path, kind: str = VERIFIER, device: str = "auto",
                 threads: int | None = None, accepted_sha256: Collection[str] = ()):
        if device not in DEVICES:
            raise ModelError(f"device must be one of {', '.join(DEVICES)}, not {device!r}")
        self.path = Path(model_path)
        self.kind = kind
        self.check: ModelCheck = check_model_file(self.path, accepted_sha256, kind=kind)
        self.requested_device = device
        self.session = inference_session(self.path, device, threads)
        self.props: dict[str, str] = dict(self.session.get_modelmeta().custom_metadata_map)
        self.providers: list[str] = list(self.session.get_providers())
        self.cuda_fallback = device in ("auto", "cuda") and CUDA in ort.get_available_providers() \
            and CUDA not in self.providers
        if device == "cuda" and CUDA not in self.providers:
            raise ModelError("CUDA was asked for but could not be used (no NVIDIA GPU or driver?)")

    @property
    def device_label(self) -> str:
        """What the user should see: the device really in use."""
        return "CUDA (GPU)" if CUDA in self.providers else "CPU"

    @property
    def fallback_message(self) -> str | None:
        if self.cuda_fallback:
            return "CUDA is not available on this PC (no NVIDIA GPU, driver or CUDA runtime): running on the CPU"
        return None


class Engine:
    """The verifier network. Thread-safe for ``embed`` (onnxruntime sessions are)."""

    def __init__(self, model_path: str | Path | None = None, device: str = "auto", warm_up: bool = True,
                 threads: int | None = None, accepted_sha256: Collection[str] = ()):
        started = time.perf_counter()
        self.model = OnnxModel(model_path or bundled_model_path(), VERIFIER, device, threads, accepted_sha256)
        self.path, self.check, self.session = self.model.path, self.model.check, self.model.session
        self.requested_device, self.providers = device, self.model.providers
        self.cuda_fallback = self.model.cuda_fallback
        self.metadata = self._read_metadata()
        if warm_up:
            self.embed(np.zeros((1, self.metadata.input_height, self.metadata.input_width), np.float32))
        self.load_seconds = time.perf_counter() - started

    def _read_metadata(self) -> ModelMetadata:
        meta = read_verifier_metadata(self.model.props, self.path.name)
        inputs = {i.name for i in self.session.get_inputs()}
        if meta.input_name not in inputs:
            raise ModelError(f"{self.path.name}: metadata names input {meta.input_name!r}, model has {inputs}")
        return meta

    @property
    def device_label(self) -> str:
        return self.model.device_label

    @property
    def fallback_message(self) -> str | None:
        return self.model.fallback_message

    def embed(self, images: np.ndarray, batch_size: int = 64) -> np.ndarray:
        """(N, H, W) float32 normalised signatures -> (N, D) L2-normalised embeddings."""
        images = np.asarray(images, dtype=np.float32)
        if images.ndim != 3 or images.shape[1:] != (self.metadata.input_height, self.metadata.input_width):
            raise ValueError(f"expected (N, {self.metadata.input_height}, {self.metadata.input_width}), "
                             f"got {images.shape}")
        outputs = []
        for start in range(0, len(images), batch_size):
            chunk = images[start : start + batch_size, None, :, :]
            outputs.append(self.session.run([self.metadata.output_name], {self.metadata.input_name: chunk})[0])
        embeddings = np.concatenate(outputs) if outputs else np.zeros((0, self.metadata.embedding_size), np.float32)
        # normalised again here: the score must be a cosine even if a model forgets to normalise
        norms = np.linalg.norm(embeddings, axis=1, keepdims=True)
        return (embeddings / np.maximum(norms, 1e-12)).astype(np.float32)
