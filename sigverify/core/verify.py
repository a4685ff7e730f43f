"""Register and verify: image -> signature crop -> embedding -> score -> decision.

The score is the cosine similarity of L2-normalised embeddings; with several references the
score is the best one, and every reference's score is reported. Decision bands come from the
model metadata (``tau_accept``, ``tau_reject``) unless an administrator set others in the store.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from enum import Enum
from pathlib import Path

import cv2
import numpy as np

from .engine import Engine
from .extraction import Extraction, find_signature
from .imaging import LoadedImage, load_image, printable_name, read_file_bytes
from .normalize import NoInkError, normalize_signature
from .store import NewReference, Store, UnknownCustomerError

THRESHOLDS_SETTING = "thresholds"
Box = tuple[int, int, int, int]


class Decision(str, Enum):
    MATCH = "match"
    REFER = "refer"
    NO_MATCH = "no_match"

    @property
    def label(self) -> str:
        return {"match": "Match", "refer": "Refer", "no_match": "No match"}[self.value]


class NoSignatureError(ValueError):
    """Nothing usable as a signature in the image (blank, unsigned cheque, not a signature)."""


@dataclass(frozen=True)
class Thresholds:
    accept: float
    reject: float
    source: str  # "model" or "administrator"

    def to_dict(self) -> dict:
        return {"accept": self.accept, "reject": self.reject, "source": self.source}


def decide(score: float, thresholds: Thresholds) -> Decision:
    if score >= thresholds.accept:
        return Decision.MATCH
    if score < thresholds.reject:
        return Decision.NO_MATCH
    return Decision.REFER


@dataclass(frozen=True)
class PreparedSignature:
    """One input image made ready for the model."""

    file_name: str
    file_bytes: bytes
    sha256: str
    image: LoadedImage
    extraction: Extraction
    normalized: np.ndarray  # float32 (H, W)

    @property
    def box(self) -> Box | None:
        return self.extraction.box if self.extraction.is_cheque else None


@dataclass(frozen=True)
class ReferenceScore:
    reference_id: int
    score: float


@dataclass(frozen=True)
class VerificationResult:
    customer_id: str
    score: float
    decision: Decision
    thresholds: Thresholds
    reference_scores: list[ReferenceScore]
    model: str
    providers: list[str]
    box: Box | None
    file_name: str
    file_sha256: str
    record_id: int | None = None
    prepared: PreparedSignature | None = field(default=None, repr=False, compare=False)

    @property
    def best_reference_id(self) -> int:
        return max(self.reference_scores, key=lambda r: r.score).reference_id

    def to_dict(self) -> dict:
        return {
            "customer_id": self.customer_id,
            "score": round(self.score, 6),
            "decision": self.decision.value,
            "thresholds": self.thresholds.to_dict(),
            "reference_scores": [{"reference_id": r.reference_id, "score": round(r.score, 6)}
                                 for r in self.reference_scores],
            "model": self.model,
            "providers": self.providers,
            "box": list(self.box) if self.box else None,
            "file": self.file_name,
            "record_id": self.record_id,
        }


@dataclass(frozen=True)
class RegistrationResult:
    customer_id: str
    reference_ids: list[int]
    files: list[str]
    boxes: list[Box | None]


def png_bytes(normalized: np.ndarray) -> bytes:
    ok, buffer = cv2.imencode(".png", np.round(normalized * 255).astype(np.uint8))
    assert ok  # encoding a uint8 array to PNG cannot fail
    return buffer.tobytes()


def _read(source: str | Path | bytes, name: str | None) -> tuple[bytes, str]:
    label = printable_name(name or ("<bytes>" if isinstance(source, bytes | bytearray) else str(source)))
    return read_file_bytes(source, label), label


def crop_box(gray: np.ndarray, box: Box) -> np.ndarray:
    x1, y1, x2, y2 = box
    h, w = gray.shape
    x1, x2 = max(0, min(x1, w)), max(0, min(x2, w))
    y1, y2 = max(0, min(y1, h)), max(0, min(y2, h))
    if x2 - x1 < 4 or y2 - y1 < 4:
        raise NoSignatureError("the signature box is too small")
    return gray[y1:y2, x1:x2]


def prepare(engine_or_params, source: str | Path | bytes, name: str | None = None,
            box: Box | None = None) -> PreparedSignature:
    """Load, find the signature (or use the clerk's ``box``), normalise. Raises on bad input."""
    params = engine_or_params.metadata.normalization if isinstance(engine_or_params, Engine) \
        else engine_or_params
    data, label = _read(source, name)
    image = load_image(data, name=label)
    if box is not None:
        crop = crop_box(image.gray, box)
        extraction = Extraction(found=True, is_cheque=True, box=tuple(int(v) for v in box),
                                confidence=1.0, crop=crop, reason="box set by the user")
    else:
        extraction = find_signature(image.gray, image.dpi)
        if not extraction.found or extraction.crop is None:
            raise NoSignatureError(f"{label}: no signature found ({extraction.reason or 'nothing signature-like'})")
    try:
        normalized = normalize_signature(extraction.crop, params)
    except NoInkError as exc:
        raise NoSignatureError(f"{label}: {exc}") from exc
    return PreparedSignature(label, data, hashlib.sha256(data).hexdigest(), image, extraction, normalized)


def reference_matrix(store: Store, customer_id: str) -> tuple[list[int], np.ndarray]:
    """(reference ids, embeddings as rows) of the customer's active references; raises
    UnknownCustomerError or NoSignatureError (no reference registered) with the reason."""
    refs = store.references_for(customer_id)
    if not refs:
        if store.get_customer(customer_id) is None:
            raise UnknownCustomerError(customer_id)
        raise NoSignatureError(f"customer {customer_id!r} has no reference signature registered")
    return [r.id for r in refs], np.stack([r.embedding for r in refs])


class Verifier:
    """The one service the CLI, the GUI and batch call."""

    def __init__(self, engine: Engine, store: Store, audit=None):
        self.engine = engine
        self.store = store
        # audit(conn, user, action, details) writes a chained record inside the caller's transaction
        self.audit = audit

    @property
    def model_version(self) -> str:
        return self.engine.metadata.version

    def thresholds(self) -> Thresholds:
        override = self.store.get_setting(THRESHOLDS_SETTING)
        # a calibration's thresholds hold for the model whose scores it measured, not its successor
        made_for = (override or {}).get("calibration", {}).get("model_version", self.model_version)
        if override and made_for == self.model_version:
            return Thresholds(float(override["accept"]), float(override["reject"]), "administrator")
        meta = self.engine.metadata
        return Thresholds(meta.tau_accept, meta.tau_reject, "model")

    def set_thresholds(self, accept: float | None, reject: float | None, user: str | None) -> Thresholds:
        """Administrator override; ``None`` for both goes back to the model's thresholds."""
        if accept is None and reject is None:
            value = None
        else:
            if accept is None or reject is None or not (-1.0 <= reject <= accept <= 1.0):
                raise ValueError("thresholds need -1 <= reject <= accept <= 1")
            value = {"accept": accept, "reject": reject}

        def work(conn):
            self.store.set_setting(THRESHOLDS_SETTING, value, conn=conn)
            self._audit(conn, user, "set_thresholds", {"thresholds": value})

        self.store.run(work)
        return self.thresholds()

    def _audit(self, conn, user, action: str, details: dict) -> None:
        if self.audit is not None:
            self.audit(conn, user, action, details)

    def prepare(self, source, name: str | None = None, box: Box | None = None) -> PreparedSignature:
        return prepare(self.engine, source, name, box)

    def register(self, customer_id: str, sources: list, name: str | None = None,
                 user: str | None = None) -> RegistrationResult:
        """Every image must yield a signature, else nothing is written."""
        prepared = [s if isinstance(s, PreparedSignature) else self.prepare(s) for s in sources]
        if not prepared:
            raise ValueError("no reference images given")
        embeddings = self.engine.embed(np.stack([p.normalized for p in prepared]))
        new = [NewReference(p.file_name, p.sha256, p.file_bytes, p.box, png_bytes(p.normalized), emb)
               for p, emb in zip(prepared, embeddings, strict=True)]

        def audit(conn, customer, ids):
            self._audit(conn, user, "register_reference", {
                "customer_id": customer_id, "reference_ids": ids, "files": [p.file_name for p in prepared],
                "sha256": [p.sha256 for p in prepared], "model_version": self.model_version})

        ids = self.store.add_references(customer_id, new, self.model_version, user=user, name=name,
                                        on_commit=audit)
        return RegistrationResult(customer_id, ids, [p.file_name for p in prepared], [r.box for r in new])

    def remove_reference(self, customer_id: str, reference_id: int, user: str | None, reason: str = "") -> None:
        if reference_id not in {r.id for r in self.store.references_for(customer_id)}:
            raise KeyError(f"customer {customer_id!r} has no active reference {reference_id}")
        self.store.remove_reference(reference_id, user, reason, on_commit=lambda conn: self._audit(
            conn, user, "remove_reference", {"customer_id": customer_id, "reference_id": reference_id,
                                             "reason": reason}))

    def score(self, customer_id: str, embedding: np.ndarray) -> tuple[float, list[ReferenceScore]]:
        ids, matrix = reference_matrix(self.store, customer_id)
        scores = matrix @ np.asarray(embedding, np.float32)
        per_ref = [ReferenceScore(i, float(s)) for i, s in zip(ids, scores, strict=True)]
        return float(scores.max()), per_ref

    def verify(self, customer_id: str, source, name: str | None = None, box: Box | None = None,
               user: str | None = None, record: bool = True) -> VerificationResult:
        # unknown customer first: a clerk must not wait for the model to hear the ID is wrong
        self.store.require_customer(customer_id)
        prepared = source if isinstance(source, PreparedSignature) else self.prepare(source, name, box)
        embedding = self.engine.embed(prepared.normalized[None])[0]
        return self.verify_embedding(customer_id, prepared, embedding, user=user, record=record)

    def verify_embedding(self, customer_id: str, prepared: PreparedSignature, embedding: np.ndarray,
                         user: str | None = None, record: bool = True) -> VerificationResult:
        score, per_ref = self.score(customer_id, embedding)
        thresholds = self.thresholds()
        result = VerificationResult(customer_id, score, decide(score, thresholds), thresholds, per_ref,
                                    self.model_version, list(self.engine.providers), prepared.box,
                                    prepared.file_name, prepared.sha256, prepared=prepared)
        if not record:
            return result
        record_id = self.store.record_verification(self._record_values(result, user), on_commit=lambda conn, rid:
                                                   self._audit(conn, user, "verify", {**result.to_dict(),
                                                               "record_id": rid, "sha256": result.file_sha256}))
        return VerificationResult(**{**result.__dict__, "record_id": record_id})

    @staticmethod
    def _record_values(result: VerificationResult, user: str | None) -> dict:
        return {
            "customer_id": result.customer_id, "file_name": result.file_name,
            "file_sha256": result.file_sha256, "box": json.dumps(list(result.box)) if result.box else None,
            "score": result.score, "decision": result.decision.value,
            "reference_scores": json.dumps([r.__dict__ for r in result.reference_scores]),
            "thresholds": json.dumps(result.thresholds.to_dict()), "model_version": result.model,
            "providers": ",".join(result.providers), "user": user,
        }

    def record_final_decision(self, record_id: int, final: str, user: str | None) -> None:
        """The clerk's own decision on a verification: accept, reject or refer to a supervisor."""
        if final not in FINAL_DECISIONS:
            raise ValueError(f"final decision must be one of {', '.join(FINAL_DECISIONS)}")
        self.store.set_final_decision(record_id, final, user, on_commit=lambda conn: self._audit(
            conn, user, "final_decision", {"record_id": record_id, "final_decision": final}))

    def refresh_stale_embeddings(self, user: str | None = None) -> int:
        """Re-embed references made by another model version (the model was upgraded)."""
        stale = self.store.stale_references(self.model_version)
        updates = []
        for ref_id, data, box in stale:
            prepared = self.prepare(data, name=f"reference {ref_id}", box=box)
            updates.append((ref_id, self.engine.embed(prepared.normalized[None])[0], png_bytes(prepared.normalized)))
        if updates:
            self.store.replace_embeddings(updates, self.model_version, on_commit=lambda conn: self._audit(
                conn, user, "refresh_embeddings", {"reference_ids": [u[0] for u in updates],
                                                   "model_version": self.model_version}))
        return len(updates)


FINAL_DECISIONS = ("accept", "reject", "refer_to_supervisor")
