"""Applying, reverting and listing calibrations: an administrator's audited change of thresholds.

A calibration is applied as the administrator's thresholds (the ``thresholds`` setting) with a
``calibration`` block naming its audit record and the model version it was computed for. The
audit record holds the whole proposal AND the scores and labels it was computed from, and the
thresholds it replaced, so ``revert`` restores exactly those (read from the tamper-evident
trail, not from the setting) and anyone can recompute the proposal later.

A model update makes the scores incomparable: ``Verifier.thresholds`` ignores a calibration made
for another model version (the model's own thresholds apply) and ``calibration_status`` says so.
Nothing is deleted: the history stays in the audit trail.
"""

from __future__ import annotations

from dataclasses import dataclass

from .calibration import Calibration, ThresholdPair
from .security.audit import AuditLog
from .security.roles import Permission, User, require
from .store import Store, now_iso
from .verify import THRESHOLDS_SETTING

APPLY, REVERT = "apply_calibration", "revert_calibration"


@dataclass(frozen=True)
class CalibrationEvent:
    audit_id: int
    action: str  # APPLY or REVERT
    at: str
    user: str | None
    model_version: str | None
    thresholds: ThresholdPair | None  # in force after the event (None: the model's own)
    fingerprint: str | None
    reverted_id: int | None = None  # REVERT: the calibration it undid

    def to_dict(self) -> dict:
        return {"audit_id": self.audit_id, "action": self.action, "at": self.at, "user": self.user,
                "model_version": self.model_version,
                "thresholds": self.thresholds.to_dict() if self.thresholds else None,
                "fingerprint": self.fingerprint, "reverted_id": self.reverted_id}


@dataclass(frozen=True)
class CalibrationStatus:
    audit_id: int | None  # the calibration behind the current thresholds, if any
    made_for: str | None  # its model version
    running: str
    applies: bool  # False: none in force, or made for another model
    message: str

    def to_dict(self) -> dict:
        return {"audit_id": self.audit_id, "made_for": self.made_for, "running": self.running,
                "applies": self.applies, "message": self.message}


def applied_setting(audit_id: int, thresholds: dict, model_version: str, fingerprint: str, applied_at: str) -> dict:
    """The thresholds setting a calibration writes (security.crosscheck replays the same from the trail)."""
    return {**thresholds, "calibration": {"audit_id": audit_id, "model_version": model_version,
                                          "fingerprint": fingerprint, "applied_at": applied_at}}


def _pair(value) -> ThresholdPair | None:
    return ThresholdPair(float(value["accept"]), float(value["reject"])) if value else None


def apply_calibration(store: Store, actor: User, calibration: Calibration, model_version: str,
                      audit: AuditLog) -> CalibrationEvent:
    """Administrators only. The proposal for all K together becomes the thresholds, audited with
    the data it came from, in one transaction."""
    require(actor, Permission.SET_THRESHOLDS)
    if calibration.model_version != model_version:
        raise ValueError(f"this proposal was computed for model {calibration.model_version}, but model "
                         f"{model_version} is running: compute it again")
    if not calibration.overall.anything_proposed:
        raise ValueError("nothing to apply: both thresholds were refused for lack of data")
    pair = calibration.overall.proposed
    for _k, accept, reject in ((None, pair.accept, pair.reject), *calibration.by_references):
        if not -1.0 <= reject <= accept <= 1.0:
            raise ValueError(f"proposed thresholds out of order: reject {reject} > accept {accept}")
    thresholds = pair.to_dict()
    if calibration.by_references:
        thresholds["by_references"] = {str(k): {"accept": a, "reject": r} for k, a, r in calibration.by_references}
    previous = store.get_setting(THRESHOLDS_SETTING)
    applied_at = now_iso()

    def work(conn) -> int:
        audit_id = audit(conn, actor.username, APPLY, {
            "thresholds": thresholds, "previous": previous, "model_version": model_version,
            "fingerprint": calibration.fingerprint, "applied_at": applied_at,
            "calibration": calibration.to_dict(with_samples=True)})
        store.set_setting(THRESHOLDS_SETTING, applied_setting(audit_id, thresholds, model_version,
                                                              calibration.fingerprint, applied_at), conn=conn)
        return audit_id

    audit_id = store.run(work)
    return CalibrationEvent(audit_id, APPLY, applied_at, actor.username, model_version, pair,
                            calibration.fingerprint)


def revert_calibration(store: Store, actor: User, audit: AuditLog) -> CalibrationEvent:
    """Administrators only: put back the thresholds the calibration in force replaced."""
    require(actor, Permission.SET_THRESHOLDS)
    current = store.get_setting(THRESHOLDS_SETTING) or {}
    active = current.get("calibration")
    if not active:
        raise ValueError("no calibration is in force: the thresholds are the model's own or were set by hand "
                         "(`sigverify thresholds`)")
    record = next((r for r in audit.records(since_id=active["audit_id"] - 1, actions=(APPLY,))
                   if r.id == active["audit_id"]), None)
    if record is None:
        raise ValueError(f"the calibration's audit record {active['audit_id']} is missing: check the audit trail")
    previous = record.details.get("previous")
    reverted_at = now_iso()

    def work(conn) -> int:
        store.set_setting(THRESHOLDS_SETTING, previous, conn=conn)
        return audit(conn, actor.username, REVERT, {"reverted_id": record.id, "restored": previous,
                                                    "replaced": current})

    audit_id = store.run(work)
    made_for = ((previous or {}).get("calibration") or {}).get("model_version")
    return CalibrationEvent(audit_id, REVERT, reverted_at, actor.username, made_for, _pair(previous), None,
                            record.id)


def calibration_history(audit: AuditLog) -> list[CalibrationEvent]:
    """Every apply and revert, oldest first."""
    events = []
    for rec in audit.records(actions=(APPLY, REVERT)):
        d = rec.details
        if rec.action == APPLY:
            events.append(CalibrationEvent(rec.id, APPLY, rec.created_at, rec.user, d.get("model_version"),
                                           _pair(d.get("thresholds")),
                                           (d.get("calibration") or {}).get("fingerprint")))
        else:
            restored = d.get("restored") or {}
            events.append(CalibrationEvent(rec.id, REVERT, rec.created_at, rec.user,
                                           (restored.get("calibration") or {}).get("model_version"),
                                           _pair(restored), None, d.get("reverted_id")))
    return events


def calibration_status(store: Store, model_version: str) -> CalibrationStatus:
    active = (store.get_setting(THRESHOLDS_SETTING) or {}).get("calibration")
    if not active:
        return CalibrationStatus(None, None, model_version, False, "no calibration in force")
    audit_id, made_for = active.get("audit_id"), active.get("model_version")
    when = str(active.get("applied_at", ""))[:16].replace("T", " ")
    if made_for != model_version:
        return CalibrationStatus(audit_id, made_for, model_version, False, (
            f"the calibration of {when} (audit record {audit_id}) was made for model {made_for}; model "
            f"{model_version} is running, so its thresholds no longer apply and the model's own are used. "
            "Calibrate again once this model has labelled verifications (the old calibration stays in "
            "the history)"))
    return CalibrationStatus(audit_id, made_for, model_version, True,
                             f"calibration of {when} (audit record {audit_id}) in force")
