"""A run's rows in the store: start or resume a run, write a flush of items, finish the run.

A run is one row of batch_runs; its items are batch_items rows, unique per (run, item key), so a
resumed run skips what is there and can never hold an item twice.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

from sqlalchemy import Connection, insert, select, update

from ..store import Store, batch_items, batch_runs, now_iso
from .common import BatchError, BatchOptions, ItemResult


def source_id(path: Path) -> str:
    return str(path.resolve())


def find_run(store: Store, source: Path, run_id: int | None = None):
    """The run to resume: ``run_id``, or the latest run of this source; None if there is none."""
    query = select(batch_runs)
    query = query.where(batch_runs.c.id == run_id) if run_id else query.where(
        batch_runs.c.source == source_id(source)).order_by(batch_runs.c.id.desc())
    row = store.run(lambda c: c.execute(query).first())
    if run_id and row is None:
        raise BatchError(f"there is no batch run {run_id}")
    if row is not None and run_id and row.source != source_id(source):
        raise BatchError(f"batch run {run_id} was for {row.source}, not {source_id(source)}")
    return row


def start_run(store: Store, options: BatchOptions, user: str | None) -> tuple[int, set[str], int]:
    """(run id, keys already finished, errors among them)."""
    if options.resume:
        row = find_run(store, options.source, options.resume if options.resume is not True else None)
        if row is not None:
            run_id = row.id
            rows = store.run(lambda c: c.execute(select(batch_items.c.item_key, batch_items.c.error)
                                                 .where(batch_items.c.run_id == run_id)).all())
            store.run(lambda c: c.execute(update(batch_runs).where(batch_runs.c.id == run_id)
                                          .values(status="running", finished_at=None)))
            return run_id, {r.item_key for r in rows}, sum(1 for r in rows if r.error)
    run_id = store.run(lambda c: c.execute(insert(batch_runs).values(
        source=source_id(options.source), options=json.dumps(options.to_dict()), status="running",
        started_at=now_iso(), user=user)).inserted_primary_key[0])
    return run_id, set(), 0


def finish_run(store: Store, run_id: int, status: str) -> None:
    store.run(lambda c: c.execute(update(batch_runs).where(batch_runs.c.id == run_id)
                                  .values(status=status, finished_at=now_iso())))



def write_items(store: Store, run_id: int, rows: list[ItemResult], crops: dict[str, bytes | None],
                audit: Callable[[Connection, list[dict]], None] | None = None) -> None:
    """One flush of items: one transaction, so a stop or a kill leaves only whole flushes.

    ``audit(conn, entries)`` runs inside that same transaction with one entry per row (``audit_entries``):
    the rows and their audit record commit together or not at all.
    """
    cipher = store.cipher
    created = now_iso()
    values = [{
        "run_id": run_id, "item_key": row.key, "customer_id": row.customer_id, "score": row.score,
        "decision": row.decision, "reference_id": row.reference_id,
        "box": json.dumps(list(row.box)) if row.box else None, "error": row.error,
        "created_at": created, "details": json.dumps(row.details),
        "crop_png": cipher.encrypt(crops[row.key]) if crops.get(row.key) else None,
    } for row in rows]

    def work(conn: Connection) -> None:
        # RETURNING: the audit entries name the rows' ids, which lets `audit verify` walk the table and
        # the trail side by side in id order (as it does for verifications) instead of holding either
        inserted = conn.execute(insert(batch_items).returning(batch_items.c.id, batch_items.c.item_key),
                                values).all()
        if audit is not None:
            audit(conn, audit_entries(rows, {r.item_key: r.id for r in inserted}))

    store.run(work)


def audit_entries(rows: list[ItemResult], ids: dict[str, int]) -> list[dict]:
    """What the batch_verify audit record says of each row, in row-id order; security/crosscheck.py
    compares batch_items with exactly these fields."""
    entries = [{
        "id": ids[row.key], "item": row.key, "customer_id": row.customer_id,
        "sha256": row.details.get("sha256"), "box": list(row.box) if row.box else None,
        "score": None if row.score is None else round(row.score, 6), "decision": row.decision,
        "reference_id": row.reference_id, "error": row.error,
    } for row in rows]
    return sorted(entries, key=lambda entry: entry["id"])
