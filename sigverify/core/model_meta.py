"""The metadata every sigverify ONNX model carries, and how it is read and written.

It lives in the ONNX file's ``metadata_props`` under one key, ``sigverify``, as JSON, so a
model file is self-describing: the app never guesses input size, normalisation or thresholds.
The model card (``<model>.card.json`` beside the file) records the file's SHA-256.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field

from .normalize import NormalizationParams

METADATA_KEY = "sigverify"
REQUIRED_FIELDS = ("version", "normalization", "embedding_size", "tau_accept", "tau_reject")


class ModelMetadataError(ValueError):
    """The model's metadata is missing or does not describe a sigverify model."""


@dataclass(frozen=True)
class ModelMetadata:
    version: str
    normalization: NormalizationParams
    embedding_size: int
    # score >= tau_accept -> match; score < tau_reject -> no_match; between -> refer
    tau_accept: float
    tau_reject: float
    # the operating points the thresholds were set at, on validation writers
    threshold_notes: dict = field(default_factory=dict)
    training_data: str = ""
    metrics: dict = field(default_factory=dict)
    created: str = ""
    input_name: str = "signature"
    output_name: str = "embedding"

    @property
    def input_height(self) -> int:
        return self.normalization.height

    @property
    def input_width(self) -> int:
        return self.normalization.width

    def to_json(self) -> str:
        data = asdict(self)
        data["normalization"] = self.normalization.to_dict()
        return json.dumps(data, sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> ModelMetadata:
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise ModelMetadataError(f"model metadata is not valid JSON: {exc}") from exc
        missing = [name for name in REQUIRED_FIELDS if name not in data]
        if missing:
            raise ModelMetadataError(f"model metadata lacks {', '.join(missing)}")
        known = {k: data[k] for k in cls.__dataclass_fields__ if k in data}
        known["normalization"] = NormalizationParams.from_dict(data["normalization"])
        meta = cls(**known)
        if not meta.tau_reject <= meta.tau_accept:
            raise ModelMetadataError("model metadata has tau_reject above tau_accept")
        return meta
