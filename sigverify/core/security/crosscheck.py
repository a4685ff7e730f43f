"""Do the tables still say what the audit trail says they were changed to?

The chain proves the trail itself was not altered; this replays the trail and compares it with
the live rows, so a score, decision, role, password hash, threshold or accepted model edited
straight in the database file (around sigverify) is found too, in single verifications and in
batch items alike.
"""

from __future__ import annotations

import json
from collections.abc import Iterator

from sqlalchemy import select

from ..store import Store, batch_items, references, settings, users, verifications
from ..verify import THRESHOLDS_SETTING
from .audit import AuditLog
from .models import ACCEPTED_MODELS_SETTING
from .users import expected_user_states, user_row_problems

SETTING_ACTIONS = ("set_thresholds", "apply_calibration", "revert_calibration", "accept_model", "revoke_model")
REFERENCE_ACTIONS = ("register_reference", "remove_reference")


def table_problems(store: Store, log: AuditLog | None = None, limit: int = 20) -> list[str]:
    """Differences between the tables and the trail, in words; empty when they agree."""
    log = log or AuditLog(store)
    problems: list[str] = []
    for check in (_check_users, _check_settings, _check_references, _check_verifications, _check_batch_items):
        for problem in check(store, log):
            problems.append(problem)
            if len(problems) >= limit:
                return problems
    return problems


# --- users -----------------------------------------------------------------------------------
def _check_users(store: Store, log: AuditLog) -> Iterator[str]:
    expected = expected_user_states(log)
    for row in store.run(lambda c: c.execute(select(users)).all()):
        state = expected.pop(row.username, None)
        if state is None:
            yield f"user {row.username!r} is in the users table but was never added through sigverify"
            continue
        yield from user_row_problems(row, state)
    for name in expected:
        yield f"user {name!r} was added according to the audit trail but is missing from the users table"


# --- settings --------------------------------------------------------------------------------
def _check_settings(store: Store, log: AuditLog) -> Iterator[str]:
    thresholds, accepted = None, set()
    for rec in log.records(actions=SETTING_ACTIONS):
        if rec.action == "set_thresholds":
            thresholds = rec.details.get("thresholds")
        elif rec.action == "apply_calibration":  # as calibration_history.applied_setting writes it
            d = rec.details
            thresholds = {**(d.get("thresholds") or {}), "calibration": {
                "audit_id": rec.id, "model_version": d.get("model_version"), "fingerprint": d.get("fingerprint"),
                "applied_at": d.get("applied_at")}}
        elif rec.action == "revert_calibration":
            thresholds = rec.details.get("restored")
        elif rec.action == "accept_model":
            accepted.add(rec.details.get("sha256"))
        else:
            accepted.discard(rec.details.get("sha256"))
    live = {row.key: row.value for row in store.run(lambda c: c.execute(select(settings)).all())}
    if _json(live.get(THRESHOLDS_SETTING)) != thresholds:
        yield f"the thresholds setting ({live.get(THRESHOLDS_SETTING)}) is not what the audit trail last set"
    extra = set(_json(live.get(ACCEPTED_MODELS_SETTING)) or {}) - accepted
    for digest in sorted(extra):
        yield f"model {digest} is marked accepted, but no administrator's acceptance is in the audit trail"


def _json(text):
    return json.loads(text) if text else None


# --- references ------------------------------------------------------------------------------
def _check_references(store: Store, log: AuditLog) -> Iterator[str]:
    registered: dict[int, str] = {}
    removed: set[int] = set()
    for rec in log.records(actions=REFERENCE_ACTIONS):
        if rec.action == "register_reference":
            registered.update(zip(rec.details.get("reference_ids", []), rec.details.get("sha256", []),
                                  strict=False))
        else:
            removed.add(rec.details.get("reference_id"))
    rows = store.run(lambda c: c.execute(select(references.c.id, references.c.image_sha256,
                                                references.c.removed_at)).all())
    for row in rows:
        if row.id not in registered:
            yield f"reference signature {row.id} was never registered through sigverify"
        elif registered[row.id] != row.image_sha256:
            yield f"reference signature {row.id}: its image hash differs from the one registered"
        elif (row.removed_at is not None) != (row.id in removed):
            yield f"reference signature {row.id}: removed or restored outside sigverify"


# --- verifications ---------------------------------------------------------------------------
def _check_verifications(store: Store, log: AuditLog) -> Iterator[str]:
    """Walks the table and the trail's verify records side by side: both are in record-id order."""
    finals = {rec.details.get("record_id"): (rec.details.get("final_decision"), rec.user)
              for rec in log.records(actions=("final_decision",))}
    audited = iter(log.records(actions=("verify",)))
    pending = next(audited, None)
    for row in _verification_rows(store):
        while pending is not None and pending.details.get("record_id", 0) < row.id:
            yield f"verification record {pending.details.get('record_id')} is in the audit trail but not in the table"
            pending = next(audited, None)
        if pending is None or pending.details.get("record_id") != row.id:
            yield f"verification record {row.id} is not in the audit trail"
            continue
        problem = _compare_verification(row, pending)
        if problem:
            yield problem
        if (row.final_decision, row.final_by) != finals.get(row.id, (None, None)):
            yield f"verification record {row.id}: the final decision differs from the audit trail"
        pending = next(audited, None)
    while pending is not None:  # audited, but gone from the end of the table
        yield f"verification record {pending.details.get('record_id')} is in the audit trail but not in the table"
        pending = next(audited, None)


def _verification_rows(store: Store, page: int = 2000):
    yield from _rows_by_id(store, select(verifications), verifications.c.id, page)


def _rows_by_id(store: Store, query, id_column, page: int = 2000):
    """Every row of ``query`` in id order, read in pages: a large table never sits in memory."""
    last = 0
    while True:
        rows = store.run(lambda c, after=last: c.execute(
            query.where(id_column > after).order_by(id_column).limit(page)).all())
        yield from rows
        if len(rows) < page:
            return
        last = rows[-1].id


def _compare_verification(row, rec) -> str | None:
    d = rec.details
    fields = {"score": (round(row.score, 6) if row.score is not None else None, d.get("score")),
              "decision": (row.decision, d.get("decision")), "file hash": (row.file_sha256, d.get("sha256")),
              "customer": (row.customer_id, d.get("customer_id")), "user": (row.user, rec.user),
              "model": (row.model_version, d.get("model"))}
    changed = [name for name, (live, trail) in fields.items() if live != trail]
    if changed:
        return f"verification record {row.id}: {', '.join(changed)} differ(s) from audit record {rec.id}"
    return None


# --- batch items -----------------------------------------------------------------------------
def _check_batch_items(store: Store, log: AuditLog) -> Iterator[str]:
    """Like verifications: the table and the items of the trail's batch_verify records, side by side
    in row-id order (each flush writes its rows and their record in one transaction, and the entries
    name the row ids, in order)."""
    audited = ((rec, entry) for rec in log.records(actions=("batch_verify",)) for entry in rec.details.get("items", []))
    pending = next(audited, None)
    columns = [c for c in batch_items.c if c.name != "crop_png"]  # the thumbnails are not evidence
    for row in _rows_by_id(store, select(*columns), batch_items.c.id):
        while pending is not None and pending[1].get("id", 0) < row.id:
            yield f"batch item {pending[1].get('id')} is in the audit trail but not in the table"
            pending = next(audited, None)
        if pending is None or pending[1].get("id") != row.id:
            yield f"batch item {row.id} (run {row.run_id}, {row.item_key!r}) is not in the audit trail"
            continue
        problem = _compare_batch_item(row, *pending)
        if problem:
            yield problem
        pending = next(audited, None)
    while pending is not None:  # audited, but gone from the end of the table
        yield f"batch item {pending[1].get('id')} is in the audit trail but not in the table"
        pending = next(audited, None)


def _compare_batch_item(row, rec, entry: dict) -> str | None:
    # no user column to compare: the run's starter may differ from who resumed it (the record says who)
    try:
        details = _json(row.details) or {}
    except ValueError:  # details typed over with something that is not JSON: its hash cannot match
        details = {}
    fields = {"run": (row.run_id, rec.details.get("run_id")), "item": (row.item_key, entry.get("item")),
              "customer": (row.customer_id, entry.get("customer_id")),
              "score": (round(row.score, 6) if row.score is not None else None, entry.get("score")),
              "decision": (row.decision, entry.get("decision")),
              "reference": (row.reference_id, entry.get("reference_id")),
              "box": (_json(row.box), entry.get("box")), "error": (row.error, entry.get("error")),
              "file hash": (details.get("sha256"), entry.get("sha256"))}
    changed = [name for name, (live, trail) in fields.items() if live != trail]
    if changed:
        return f"batch item {row.id} (run {row.run_id}, {row.item_key!r}): {', '.join(changed)} " \
               f"differ(s) from audit record {rec.id}"
    return None
