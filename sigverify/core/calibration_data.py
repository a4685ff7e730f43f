"""Where calibration scores come from: the store's own verifications, or a labelled folder.

Store: every verification recorded with the running model's version. Its label is the FINAL
decision (``accept`` = genuine, ``reject`` = forged) and only when the label policy counts it:

- ``supervisor`` (default): decided by an administrator (the bank's supervisors hold that role,
  and a refer-to-supervisor item is closed by one), or by the first-time administrator of a
  store without users. A clerk's own accept/reject is not a label.
- ``clerk``: any final accept or reject, for a bank whose procedure already has clerk
  decisions double-checked (the administrator sets this, audited).

``refer_to_supervisor`` without an outcome is never a label; an unlabelled verification still
counts for the refer rate. Scores made by another model version are left out: they are on
another scale.

Folder: ``ROOT/<customer>/genuine/*`` and ``ROOT/<customer>/forged/*`` (forgeries OF that
customer), the customers registered first. Each image goes through the app's own path
(prepare, embed, score against the customer's references); nothing is recorded.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from sqlalchemy import select

from .calibration import (
    DEFAULT_CONFIDENCE,
    DEFAULT_TARGET,
    Calibration,
    LabelledScore,
    ThresholdPair,
    calibrate,
)
from .security.audit import canonical_json
from .security.roles import Permission, Role, User, require
from .security.users import BOOTSTRAP_PREFIX
from .store import Store, users, verifications

LABEL_POLICY_SETTING = "calibration_label_policy"
LABEL_POLICIES = {
    "supervisor": "final accept/reject decided by an administrator (supervisor)",
    "clerk": "any final accept/reject, also a clerk's own",
}
DEFAULT_LABEL_POLICY = "supervisor"
IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".tif", ".tiff", ".bmp", ".gif", ".webp"}
FOLDER_KINDS = {"genuine": True, "forged": False}


@dataclass(frozen=True)
class ScoreSet:
    """Scores with their labels, where they came from, and what was left out and why."""

    samples: tuple[LabelledScore, ...]
    source: str
    label_policy: str
    left_out: dict[str, int]  # reason -> how many verifications
    skipped: tuple[str, ...] = ()  # files that could not be scored, with the reason

    @property
    def fingerprint(self) -> str:
        rows = sorted([s.key, round(s.score, 6), s.genuine, s.references] for s in self.samples)
        return hashlib.sha256(canonical_json(rows).encode()).hexdigest()

    @property
    def genuine(self) -> int:
        return sum(s.genuine is True for s in self.samples)

    @property
    def forged(self) -> int:
        return sum(s.genuine is False for s in self.samples)


# --------------------------------------------------------------------------- label policy

def label_policy(store: Store) -> str:
    policy = store.get_setting(LABEL_POLICY_SETTING, DEFAULT_LABEL_POLICY)
    return policy if policy in LABEL_POLICIES else DEFAULT_LABEL_POLICY


def set_label_policy(store: Store, actor: User, policy: str, audit) -> str:
    """Administrators only; audited in the same transaction as the setting."""
    require(actor, Permission.SET_THRESHOLDS)
    if policy not in LABEL_POLICIES:
        raise ValueError(f"label policy must be one of {', '.join(LABEL_POLICIES)}")
    previous = label_policy(store)

    def work(conn):
        store.set_setting(LABEL_POLICY_SETTING, policy, conn=conn)
        audit(conn, actor.username, "set_calibration_label_policy", {"policy": policy, "previous": previous})

    store.run(work)
    return policy


# --------------------------------------------------------------------------- from the store

def _administrators(store: Store) -> set[str]:
    rows = store.run(lambda c: c.execute(select(users.c.username).where(users.c.role == Role.ADMINISTRATOR.value))
                     .all())
    return {r.username for r in rows}


def _label(row, policy: str, admins: set[str]) -> tuple[bool | None, str | None]:
    """(label, why it is not one)."""
    final = row.final_decision
    if final is None:
        return None, "no final decision"
    if final not in ("accept", "reject"):
        return None, "referred to a supervisor, no outcome"
    by = row.final_by or ""
    if policy == "supervisor" and by not in admins and not by.startswith(BOOTSTRAP_PREFIX):
        return None, "decided by a clerk, not confirmed (label policy: supervisor)"
    return final == "accept", None


def _reference_count(text: str | None) -> int | None:
    try:
        count = len(json.loads(text or "[]"))
    except (TypeError, ValueError):
        return None
    return count or None


def store_scores(store: Store, model_version: str, policy: str | None = None) -> ScoreSet:
    """Every recorded verification of this model, labelled per the policy."""
    policy = policy or label_policy(store)
    admins = _administrators(store)
    rows = store.run(lambda c: c.execute(
        select(verifications.c.id, verifications.c.customer_id, verifications.c.score, verifications.c.reference_scores,
               verifications.c.final_decision, verifications.c.final_by, verifications.c.model_version)
        .order_by(verifications.c.id)).all())
    samples, left_out = [], {}
    for row in rows:
        k = _reference_count(row.reference_scores)
        why_out = ("made with another model version" if row.model_version != model_version
                   else "no score" if row.score is None else "no reference scores" if k is None else None)
        if why_out:
            left_out[why_out] = left_out.get(why_out, 0) + 1
            continue
        genuine, why_unlabelled = _label(row, policy, admins)
        if why_unlabelled:
            left_out[f"unlabelled: {why_unlabelled}"] = left_out.get(f"unlabelled: {why_unlabelled}", 0) + 1
        samples.append(LabelledScore(float(row.score), genuine, k, f"verification:{row.id}", row.customer_id))
    return ScoreSet(tuple(samples), f"{len(samples)} recorded verifications",
                    policy, left_out)


# --------------------------------------------------------------------------- from a folder

def read_labelled_folder(root: Path) -> list[tuple[Path, str, bool]]:
    """(path, customer, genuine) for ROOT/<customer>/genuine|forged/<image>."""
    root = Path(root)
    if not root.is_dir():
        raise ValueError(f"not a folder: {root}")
    items = []
    for customer in sorted(p for p in root.iterdir() if p.is_dir()):
        for kind, is_genuine in FOLDER_KINDS.items():
            folder = customer / kind
            if folder.is_dir():
                items += [(f, customer.name, is_genuine) for f in sorted(folder.iterdir())
                          if f.is_file() and f.suffix.lower() in IMAGE_SUFFIXES]
    if not items:
        raise ValueError(f"{root}: no ROOT/<customer>/genuine|forged/<image> files found")
    return items


def folder_scores(verifier, root: Path, progress: Callable[[int, int], None] | None = None,
                  batch: int = 32) -> ScoreSet:
    """Score every image of the folder against its customer's registered references.

    ``verifier``: a (guarded) Verifier; its ``prepare``/``score`` and engine are the app's own
    path. A file that fails (unreadable, no signature, unknown customer) is skipped with its
    reason; a file that IS one of the customer's references is skipped (it would score 1.0)."""
    items = read_labelled_folder(root)
    reference_hashes: dict[str, set[str]] = {}
    skipped: list[str] = []
    prepared: list[tuple[object, str, bool]] = []
    samples: list[LabelledScore] = []
    for done, (path, customer, is_genuine) in enumerate(items, 1):
        try:
            if customer not in reference_hashes:
                reference_hashes[customer] = {r.image_sha256 for r in verifier.store.references_for(customer)}
            if not reference_hashes[customer]:
                raise ValueError(f"customer {customer!r} is not registered or has no references")
            item = verifier.prepare(path)
            if item.sha256 in reference_hashes[customer]:
                raise ValueError("this file is one of the customer's references")
            prepared.append((item, customer, is_genuine))
        except Exception as exc:  # noqa: BLE001 - a bad file is reported and skipped, never fatal
            skipped.append(f"{path}: {exc}")
        if len(prepared) >= batch or (done == len(items) and prepared):
            samples += _score_batch(verifier, prepared)
            prepared = []
        if progress is not None:
            progress(done, len(items))
    return ScoreSet(tuple(samples), f"labelled folder {Path(root)} ({len(samples)} images scored)", "folder",
                    {"skipped files": len(skipped)} if skipped else {}, tuple(skipped))


def _score_batch(verifier, prepared) -> list[LabelledScore]:
    embeddings = verifier.engine.embed(np.stack([p.normalized for p, _c, _g in prepared]))
    out = []
    for (item, customer, is_genuine), embedding in zip(prepared, embeddings, strict=True):
        scored = verifier.score(customer, embedding)  # pipeline.ScoreResult
        out.append(LabelledScore(scored.score, is_genuine, len(scored.reference_scores),
                                 f"{customer}/{item.sha256}", customer))
    return out


# --------------------------------------------------------------------------- the proposal

def propose(verifier, actor: User, *, use_store: bool = True, folder: Path | None = None,
            target_far: float = DEFAULT_TARGET, target_frr: float = DEFAULT_TARGET,
            confidence: float = DEFAULT_CONFIDENCE,
            progress: Callable[[int, int], None] | None = None) -> Calibration:
    """Administrators only: score sets from the store and/or a folder, calibrated together.
    Reads and computes; changes nothing (apply it with ``calibration_history.apply_calibration``)."""
    require(actor, Permission.SET_THRESHOLDS)
    if not use_store and folder is None:
        raise ValueError("calibrate from the store's verifications, a labelled folder, or both")
    sets = []
    if use_store:
        sets.append(store_scores(verifier.store, verifier.model_version))
    if folder is not None:
        sets.append(folder_scores(verifier, Path(folder), progress))
    merged = ScoreSet(tuple(s for part in sets for s in part.samples), "; ".join(p.source for p in sets),
                      " + ".join(p.label_policy for p in sets),
                      {k: v for part in sets for k, v in part.left_out.items()},
                      tuple(s for part in sets for s in part.skipped))
    current = verifier.thresholds()

    def current_for(k: int) -> ThresholdPair:
        t = current.for_references(k)
        return ThresholdPair(t.accept, t.reject)

    return calibrate(merged.samples, ThresholdPair(current.accept, current.reject), current_for=current_for,
                     model_version=verifier.model_version, source=merged.source, label_policy=merged.label_policy,
                     fingerprint=merged.fingerprint, target_far=target_far, target_frr=target_frr,
                     confidence=confidence, skipped=merged.skipped, left_out=merged.left_out)
