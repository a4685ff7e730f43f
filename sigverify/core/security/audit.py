"""The audit trail: append-only records, each chained to the one before by SHA-256.

record hash = SHA-256(previous hash + canonical JSON of {id, created_at, user, action, details}).
Changing, deleting or reordering any record breaks the chain from that record on, and
``verify`` names the first one. What the chain cannot show alone: the newest records being cut
off the end; ``verify`` therefore reports the head hash so it can be written down elsewhere.

Records are written with the caller's connection, inside the caller's transaction, so an
audited change and its record commit together or not at all. Appends are serialised, so there
is one chain whatever the number of writers (``append`` says how); the unique index on
``prev_hash`` (schema 3) makes the database refuse a fork should anything ever bypass that.
"""

from __future__ import annotations

import csv
import hashlib
import json
from collections.abc import Collection, Iterator
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import insert, select, text, update

from ..store import WRITER_LOCK_KEY, Store, audit_log, now_iso

GENESIS_HASH = "0" * 64
PENDING = "pending"  # for the instant between a record's insert and its hash, inside one transaction
CSV_FIELDS = ("id", "created_at", "user", "action", "details", "prev_hash", "hash")


def canonical_json(value) -> str:
    """One spelling per value: sorted keys, no spaces, UTF-8; ``str`` for anything else."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)


def record_hash(prev_hash: str, record_id: int, created_at: str, user: str | None, action: str,
                details) -> str:
    body = canonical_json({"id": record_id, "created_at": created_at, "user": user, "action": action,
                           "details": details})
    return hashlib.sha256((prev_hash + body).encode("utf-8", "surrogatepass")).hexdigest()


@dataclass(frozen=True)
class AuditRecord:
    id: int
    created_at: str
    user: str | None
    action: str
    details: dict
    prev_hash: str
    hash: str


@dataclass(frozen=True)
class ChainCheck:
    ok: bool
    records: int  # how many records were checked
    head_hash: str  # hash of the last good record (GENESIS_HASH for an empty log)
    first_bad_id: int | None = None
    reason: str | None = None

    def to_dict(self) -> dict:
        return {"ok": self.ok, "records": self.records, "head_hash": self.head_hash,
                "first_bad_id": self.first_bad_id, "reason": self.reason}


class AuditLog:
    """Use an instance as the Verifier's ``audit`` hook: ``Verifier(engine, store, audit=AuditLog(store))``."""

    def __init__(self, store: Store):
        self.store = store

    def __call__(self, conn, user: str | None, action: str, details: dict) -> int:
        return self.append(conn, user, action, details)

    def append(self, conn, user: str | None, action: str, details: dict) -> int:
        """Write one record with ``conn`` (inside the caller's transaction); returns its id."""
        if conn.dialect.name == "postgresql":
            # Under READ COMMITTED two transactions could read the same head and fork the chain, so
            # appends are serialised by a transaction-scoped advisory lock, released at commit or
            # rollback (also when the client dies: the server ends its transaction). It is the
            # store's writer lock (store._pg_writer_lock), which the transaction's first write has
            # usually taken already; taking it again is a no-op. Why a lock and not:
            # - SERIALIZABLE: it would abort one of two concurrent appenders at commit; every
            #   clerk's verification is audited, so under load whole transactions would rerun,
            #   and a retry cannot be made safe for callers with effects outside the database.
            # - a sequence: it orders records but cannot hand out the previous record's hash,
            #   which each record must contain: appends would still need a lock.
            # - LOCK TABLE: the same job, but it needs UPDATE/DELETE rights on audit_log, which a
            #   bank would rather not grant to clerk accounts, and it also blocks VACUUM.
            # The lock lasts one short transaction (the model runs before it): clerks wait only
            # for other writers' commits, never for each other's inference; readers never wait.
            # Taken before the insert, the sequence hands out ids in chain order.
            conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": WRITER_LOCK_KEY})
        # stored as canonical text, so the hash can be recomputed from the row as it is
        details_text = canonical_json(details)
        details = json.loads(details_text)
        created_at = now_iso()
        # SQLite: insert first, then read the head: the insert takes the database's write lock, so
        # no other writer can append between reading the head and linking to it (no forked chain)
        record_id = conn.execute(insert(audit_log).values(
            created_at=created_at, user=user, action=action, details=details_text, prev_hash=PENDING,
            hash=PENDING)).inserted_primary_key[0]
        last = conn.execute(select(audit_log.c.hash).where(audit_log.c.id < record_id)
                            .order_by(audit_log.c.id.desc()).limit(1)).first()
        prev_hash = last.hash if last else GENESIS_HASH
        digest = record_hash(prev_hash, record_id, created_at, user, action, details)
        conn.execute(update(audit_log).where(audit_log.c.id == record_id).values(prev_hash=prev_hash, hash=digest))
        return record_id

    def record(self, user: str | None, action: str, details: dict) -> int:
        """A record on its own (e.g. a failed login): its own transaction."""
        return self.store.run(lambda conn: self.append(conn, user, action, details))

    def records(self, since_id: int = 0, actions: Collection[str] | None = None) -> Iterator[AuditRecord]:
        """Every record (of these ``actions``) in id order, read in pages: a long log never sits in memory."""
        last_id, page = since_id, 1000
        while True:
            query = select(audit_log).where(audit_log.c.id > last_id).order_by(audit_log.c.id).limit(page)
            if actions is not None:
                query = query.where(audit_log.c.action.in_(list(actions)))
            rows = self.store.run(lambda c, q=query: c.execute(q).all())
            for row in rows:
                yield _to_record(row)
            if len(rows) < page:
                return
            last_id = rows[-1].id

    def verify(self) -> ChainCheck:
        """Walk the chain; the first record whose link or content does not check out is reported."""
        prev_hash, expected_id, count = GENESIS_HASH, 1, 0
        for rec in self.records():
            problem = _check_record(rec, prev_hash, expected_id)
            if problem:
                bad_id, reason = problem
                return ChainCheck(False, count, prev_hash, bad_id, reason)
            prev_hash, expected_id, count = rec.hash, rec.id + 1, count + 1
        return ChainCheck(True, count, prev_hash)

    def export_csv(self, path: str | Path) -> int:
        """All records to CSV (details as canonical JSON); returns the number written."""
        count = 0
        with open(path, "w", newline="", encoding="utf-8", errors="backslashreplace") as handle:
            writer = csv.writer(handle)
            writer.writerow(CSV_FIELDS)
            for rec in self.records():
                writer.writerow([rec.id, rec.created_at, rec.user or "", rec.action, canonical_json(rec.details),
                                 rec.prev_hash, rec.hash])
                count += 1
        return count


def _to_record(row) -> AuditRecord:
    try:
        details = json.loads(row.details)
    except (TypeError, ValueError):
        details = {"<unreadable>": str(row.details)}  # verify() reports it as altered
    return AuditRecord(row.id, row.created_at, row.user, row.action, details, row.prev_hash, row.hash)


def _check_record(rec: AuditRecord, prev_hash: str, expected_id: int) -> tuple[int, str] | None:
    """(first bad record id, why) or None. An id gap whose hashes still link is a rolled-back
    insert on a server database (sequences skip), not tampering."""
    if rec.prev_hash != prev_hash:
        if rec.id != expected_id:
            return expected_id, f"record {expected_id} is missing (next record is {rec.id}): records were deleted"
        return rec.id, (f"record {rec.id} does not link to record {rec.id - 1}: "
                        "that record was changed (hash rewritten) or replaced")
    if record_hash(prev_hash, rec.id, rec.created_at, rec.user, rec.action, rec.details) != rec.hash:
        return rec.id, f"record {rec.id} was altered after it was written (its content does not match its hash)"
    return None
