"""The ONNX model: load and check it, pick providers, embed signatures in batches.

onnxruntime-gpu lists CUDAExecutionProvider even on a PC without CUDA and silently falls
back to CPU when the session cannot use it, so the engine reports what the session really
uses (``session.get_providers()``) and says plainly when CUDA was asked for but not given.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Collection
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import onnxruntime as ort

from .model_meta import METADATA_KEY, ModelMetadata, ModelMetadataError

DEVICES = ("auto", "cpu", "cuda")
CUDA = "CUDAExecutionProvider"
CPU = "CPUExecutionProvider"


class ModelError(RuntimeError):
    """The model file is missing, damaged, not a sigverify model, or not the one its card names."""


def default_model_path() -> Path:
    """The bundled model: models/sigverify.onnx at the project root."""
    return Path(__file__).resolve().parents[2] / "models" / "sigverify.onnx"


def card_path_for(model_path: Path) -> Path:
    return model_path.with_name(model_path.name + ".card.json")


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


@dataclass(frozen=True)
class ModelCheck:
    sha256: str
    card: dict | None  # None: no card beside the model (e.g. a model built by the tests)
    card_matches: bool | None
    accepted: bool = False  # does not match its card, but an administrator accepted this exact file


def check_model_file(path: Path, accepted: Collection[str] = ()) -> ModelCheck:
    """Existence and the SHA-256 against the card; raises ModelError on a mismatch.

    ``accepted``: SHA-256 values an administrator accepted (audited) despite a mismatch.
    """
    if not path.is_file():
        raise ModelError(f"model file not found: {path}")
    digest = sha256_file(path)
    card_file = card_path_for(path)
    if not card_file.is_file():
        return ModelCheck(digest, None, None)
    try:
        card = json.loads(card_file.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise ModelError(f"model card {card_file} cannot be read: {exc}") from exc
    expected = card.get("sha256")
    if expected and expected != digest:
        if digest in accepted:
            return ModelCheck(digest, card, False, accepted=True)
        raise ModelError(
            f"model file {path.name} does not match its card (SHA-256 {digest[:12]}…, card says "
            f"{str(expected)[:12]}…): the file was changed, truncated or swapped; an administrator "
            f"can accept it with `sigverify model accept`"
        )
    return ModelCheck(digest, card, bool(expected))


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


class Engine:
    """One loaded model. Thread-safe for ``embed`` (onnxruntime sessions are)."""

    def __init__(self, model_path: str | Path | None = None, device: str = "auto", warm_up: bool = True,
                 threads: int | None = None, accepted_sha256: Collection[str] = ()):
        if device not in DEVICES:
            raise ModelError(f"device must be one of {', '.join(DEVICES)}, not {device!r}")
        started = time.perf_counter()
        self.path = Path(model_path) if model_path else default_model_path()
        self.check = check_model_file(self.path, accepted_sha256)
        self.requested_device = device
        options = ort.SessionOptions()
        options.log_severity_level = 3  # the fallback is reported by us, in words
        if threads:
            options.intra_op_num_threads = threads
            options.inter_op_num_threads = 1
        # onnxruntime logs a red error when CUDA libraries are missing; we report the fallback in words
        ort.set_default_logger_severity(4)
        try:
            self.session = ort.InferenceSession(str(self.path), options, providers=_providers_for(device))
        except Exception as exc:  # onnxruntime raises its own untyped errors for damaged files
            raise ModelError(f"{self.path.name} is not a loadable ONNX model: {exc}") from exc
        finally:
            ort.set_default_logger_severity(2)
        self.metadata = self._read_metadata()
        self.providers: list[str] = list(self.session.get_providers())
        self.cuda_fallback = device in ("auto", "cuda") and CUDA in ort.get_available_providers() \
            and CUDA not in self.providers
        if device == "cuda" and CUDA not in self.providers:
            raise ModelError("CUDA was asked for but could not be used (no NVIDIA GPU or driver?)")
        if warm_up:
            self.embed(np.zeros((1, self.metadata.input_height, self.metadata.input_width), np.float32))
        self.load_seconds = time.perf_counter() - started

    def _read_metadata(self) -> ModelMetadata:
        props = self.session.get_modelmeta().custom_metadata_map
        if METADATA_KEY not in props:
            raise ModelError(f"{self.path.name} has no sigverify metadata: not a sigverify model")
        try:
            meta = ModelMetadata.from_json(props[METADATA_KEY])
        except (ModelMetadataError, ValueError, TypeError) as exc:
            raise ModelError(f"{self.path.name}: {exc}") from exc
        inputs = {i.name for i in self.session.get_inputs()}
        if meta.input_name not in inputs:
            raise ModelError(f"{self.path.name}: metadata names input {meta.input_name!r}, model has {inputs}")
        return meta

    @property
    def device_label(self) -> str:
        """What the user should see: the device really in use."""
        return "CUDA (GPU)" if CUDA in self.providers else "CPU"

    @property
    def fallback_message(self) -> str | None:
        if self.cuda_fallback:
            return "CUDA is not available on this PC (no NVIDIA GPU, driver or CUDA runtime): running on the CPU"
        return None

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
