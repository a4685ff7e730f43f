"""Register and verify: the Verifier service on the one pipeline (pipeline.prepare, pipeline.score).

The score is the cosine similarity of L2-normalised embeddings; with several references the
score is the best one, and every reference's score is reported. Decision bands come from the
model metadata (``tau_accept``, ``tau_reject``, per reference count where the model ships them)
unless an administrator set others in the store.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

import cv2
import numpy as np

from .engine import Engine
from .model_trust import ModelMetadata
from .pipeline import (
    UNSIGNED_REASON,
    Box,
    Decision,
    NoSignatureError,
    PreparedSignature,
    ReferenceScore,
    ScoreAdjustment,
    ScoreResult,
    Thresholds,
    UnsignedChequeError,
    prepare,
    score,
)
from .store import NewReference, Store, UnknownCustomerError

THRESHOLDS_SETTING = "thresholds"


@dataclass(frozen=True)
class VerificationResult:
    customer_id: str
    score: float | None  # None: nothing was scored (an unsigned cheque, referred to a person)
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
    raw_score: float | None = None  # the best cosine, when a score adjustment made ``score`` differ
    reason: str | None = None  # why the decision was made without a score (an unsigned cheque)

    @property
    def best_reference_id(self) -> int | None:
        if not self.reference_scores:
            return None
        return max(self.reference_scores, key=lambda r: r.score).reference_id

    def to_dict(self) -> dict:
        return {
            "customer_id": self.customer_id,
            "score": None if self.score is None else round(self.score, 6),
            "decision": self.decision.value,
            "reason": self.reason,
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


def model_thresholds(meta: ModelMetadata) -> Thresholds:
    """The thresholds the model ships (per reference count where it lists them)."""
    by_k = tuple(sorted((int(k), float(v["tau_accept"]), float(v["tau_reject"]))
                        for k, v in meta.thresholds_by_references.items()))
    return Thresholds(meta.tau_accept, meta.tau_reject, "model", by_k)


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

    def __init__(self, engine: Engine, store: Store, audit=None, adjust: ScoreAdjustment | None = None):
        self.engine = engine
        self.store = store
        # audit(conn, user, action, details) writes a chained record inside the caller's transaction
        self.audit = audit
        self.adjust = adjust  # pipeline.ScoreAdjustment: None scores by raw cosine

    @property
    def model_version(self) -> str:
        return self.engine.metadata.version

    def thresholds(self) -> Thresholds:
        override = self.store.get_setting(THRESHOLDS_SETTING)
        # a calibration's thresholds hold for the model whose scores it measured, not its successor
        made_for = (override or {}).get("calibration", {}).get("model_version", self.model_version)
        if override and made_for == self.model_version:
            # a calibration may set thresholds per reference count K (core.calibration_history)
            by_k = tuple(sorted((int(k), float(v["accept"]), float(v["reject"]))
                                for k, v in (override.get("by_references") or {}).items()))
            return Thresholds(float(override["accept"]), float(override["reject"]), "administrator", by_k)
        return model_thresholds(self.engine.metadata)

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
        return prepare(source, self.engine.metadata.normalization, name=name, box=box)

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

    def score(self, customer_id: str, embedding: np.ndarray) -> ScoreResult:
        ids, matrix = reference_matrix(self.store, customer_id)
        return score(embedding, matrix, ids, self.thresholds(), self.adjust)

    def verify(self, customer_id: str, source, name: str | None = None, box: Box | None = None,
               user: str | None = None, record: bool = True) -> VerificationResult:
        # unknown customer first: a clerk must not wait for the model to hear the ID is wrong
        self.store.require_customer(customer_id)
        try:
            prepared = source if isinstance(source, PreparedSignature) else self.prepare(source, name, box)
        except UnsignedChequeError as unsigned:
            return self.refer_unsigned(customer_id, unsigned, user=user, record=record)
        embedding = self.engine.embed(prepared.normalized[None])[0]
        return self.verify_embedding(customer_id, prepared, embedding, user=user, record=record)

    def verify_embedding(self, customer_id: str, prepared: PreparedSignature, embedding: np.ndarray,
                         user: str | None = None, record: bool = True) -> VerificationResult:
        scored = self.score(customer_id, embedding)
        result = VerificationResult(customer_id, scored.score, scored.decision, scored.thresholds,
                                    scored.reference_scores, self.model_version, list(self.engine.providers),
                                    prepared.box, prepared.file_name, prepared.sha256, prepared=prepared,
                                    raw_score=scored.raw_score if scored.raw_score != scored.score else None)
        return self._recorded(result, user, record)

    def refer_unsigned(self, customer_id: str, unsigned: UnsignedChequeError, user: str | None = None,
                       record: bool = True) -> VerificationResult:
        """A whole cheque the finder judged unsigned: decision "refer" with the reason and no score,
        recorded like any verification (a person must look at it; it is not bad input)."""
        self.store.require_customer(customer_id)
        reference_matrix(self.store, customer_id)  # no references: the same error as a scored check
        result = VerificationResult(customer_id, None, Decision.REFER, self.thresholds(), [], self.model_version,
                                    list(self.engine.providers), None, unsigned.file_name, unsigned.sha256,
                                    reason=UNSIGNED_REASON)
        return self._recorded(result, user, record)

    def _recorded(self, result: VerificationResult, user: str | None, record: bool) -> VerificationResult:
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
