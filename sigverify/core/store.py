"""The reference store: customers, reference signatures, verifications, users, audit, batches.

SQLAlchemy Core over an embedded SQLite file by default, or a PostgreSQL server shared by many
clerk PCs (dbconfig.py: which database, and where its password comes from). Every change runs in
one transaction. The schema is versioned with Alembic (migrations/); opening a store brings an
older one up to date in place. Biometric columns (reference image bytes, normalised image,
embedding) pass through ``self.cipher`` so they can be encrypted at rest.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
from sqlalchemy import (
    Column,
    Engine,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
    create_engine,
    event,
    func,
    insert,
    inspect,
    select,
    text,
    update,
)
from sqlalchemy.exc import DBAPIError, OperationalError

from .dbconfig import DatabaseSettingError, connect_url, database_setting
from .paths import default_database_file

SCHEMA_VERSION = 3  # the head revision's (migrations/versions); tests check they agree
LOCK_RETRIES = 3
SQLITE_BUSY_TIMEOUT_MS = 2000  # a writer waits this long for another one before "locked"
SERVER_CONNECT_TIMEOUT_S = 5  # a clerk waits this long for an unreachable server, not minutes
# PostgreSQL: serialization failure, deadlock: the whole transaction can simply run again
RETRYABLE_SQLSTATES = {"40001", "40P01"}
# PostgreSQL advisory lock keys, one per purpose
MIGRATION_LOCK_KEY = 0x5167_0001
WRITER_LOCK_KEY = 0x5167_0002  # see _pg_writer_lock; audit.py takes the same one
WRITE_VERBS = ("INSERT", "UPDATE", "DELETE")

metadata = MetaData()

schema_version = Table("schema_version", metadata, Column("version", Integer, nullable=False))

customers = Table(
    "customers", metadata,
    Column("id", Integer, primary_key=True),
    Column("customer_id", String(128), nullable=False, unique=True),
    Column("name", String(256)),
    Column("account", String(64), index=True),
    Column("created_at", String(32), nullable=False),
    Column("created_by", String(128)),
)

references = Table(
    "reference_signatures", metadata,
    Column("id", Integer, primary_key=True),
    Column("customer_pk", Integer, ForeignKey("customers.id"), nullable=False, index=True),
    Column("file_name", String(1024)),
    Column("image_sha256", String(64), nullable=False),
    Column("image_bytes", LargeBinary, nullable=False),  # the uploaded file, via cipher
    Column("box", String(64)),  # JSON [x1, y1, x2, y2] of the crop inside image_bytes
    Column("normalized_png", LargeBinary, nullable=False),  # via cipher
    Column("embedding", LargeBinary, nullable=False),  # float32 bytes, via cipher
    Column("model_version", String(64), nullable=False),
    Column("created_at", String(32), nullable=False),
    Column("created_by", String(128)),
    Column("removed_at", String(32)),
    Column("removed_by", String(128)),
    Column("removal_reason", Text),
)

verifications = Table(
    "verifications", metadata,
    Column("id", Integer, primary_key=True),
    Column("customer_id", String(128), nullable=False, index=True),
    Column("file_name", String(1024)),
    Column("file_sha256", String(64)),
    Column("box", String(64)),
    Column("score", Float),
    Column("decision", String(16)),
    Column("reference_scores", Text),
    Column("thresholds", Text),
    Column("model_version", String(64)),
    Column("providers", String(256)),
    Column("user", String(128)),
    Column("created_at", String(32), nullable=False),
    Column("final_decision", String(32)),
    Column("final_by", String(128)),
    Column("final_at", String(32)),
)

settings = Table(
    "settings", metadata,
    Column("key", String(128), primary_key=True),
    Column("value", Text, nullable=False),
)

users = Table(
    "users", metadata,
    Column("id", Integer, primary_key=True),
    Column("username", String(128), nullable=False, unique=True),
    Column("role", String(32), nullable=False),
    Column("password_hash", String(256), nullable=False),
    Column("created_at", String(32), nullable=False),
    Column("disabled", Integer, nullable=False, default=0),
)

audit_log = Table(
    "audit_log", metadata,
    Column("id", Integer, primary_key=True),
    Column("created_at", String(32), nullable=False),
    Column("user", String(128)),
    Column("action", String(64), nullable=False),
    Column("details", Text, nullable=False),
    Column("prev_hash", String(64), nullable=False),
    Column("hash", String(64), nullable=False),
    # schema 3: two records linking to one predecessor would fork the chain; the database refuses it
    Index("uq_audit_log_prev_hash", "prev_hash", unique=True),
)

batch_runs = Table(
    "batch_runs", metadata,
    Column("id", Integer, primary_key=True),
    Column("source", String(2048), nullable=False),
    Column("options", Text),
    Column("status", String(16), nullable=False),
    Column("started_at", String(32), nullable=False),
    Column("finished_at", String(32)),
    Column("user", String(128)),
)

batch_items = Table(
    "batch_items", metadata,
    Column("id", Integer, primary_key=True),
    Column("run_id", Integer, ForeignKey("batch_runs.id"), nullable=False, index=True),
    Column("item_key", String(2048), nullable=False),
    Column("customer_id", String(128)),
    Column("score", Float),
    Column("decision", String(16)),
    Column("reference_id", Integer),
    Column("box", String(64)),
    Column("error", Text),
    Column("created_at", String(32), nullable=False),
    # --- batch reports (schema 2; owner: core/batch/) ---
    Column("details", Text),  # JSON: file label, X9 fields, reference scores, thresholds, timings
    Column("crop_png", LargeBinary),  # signature crop thumbnail for the HTML report, via cipher
    UniqueConstraint("run_id", "item_key"),
)


class StoreError(RuntimeError):
    """The database cannot be opened or written; the message says why in words."""


class StoreUnreachableError(StoreError):
    """The database server cannot be reached: nothing of the attempted change was saved."""


class NoStoreError(StoreError):
    """Opening (not creating) a store where there is none: a mistyped --db must not make a new one."""

    def __init__(self, location: str, url: str, what: str = "there is no sigverify database at"):
        super().__init__(f"{what} {location}: check --db (or the database chosen in Settings); to create "
                         "a new, empty database there on purpose, run `sigverify init --db URL`")
        self.location, self.url = location, url


class UnknownCustomerError(KeyError):
    def __str__(self) -> str:
        return f"unknown customer {self.args[0]!r}: no such customer in the reference store"


class PlainCipher:
    """No encryption (tests, or a deployment that encrypts the disk instead)."""

    def encrypt(self, data: bytes) -> bytes:
        return data

    def decrypt(self, data: bytes) -> bytes:
        return data


def now_iso() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds")


def default_db_url() -> str:
    path = default_database_file()
    path.parent.mkdir(parents=True, exist_ok=True)
    return f"sqlite:///{path}"


@dataclass(frozen=True)
class Customer:
    pk: int
    customer_id: str
    name: str | None
    account: str | None
    created_at: str
    reference_count: int = 0


@dataclass(frozen=True)
class Reference:
    id: int
    customer_id: str
    file_name: str | None
    image_sha256: str
    box: tuple[int, int, int, int] | None
    embedding: np.ndarray
    model_version: str
    created_at: str
    created_by: str | None
    removed_at: str | None = None


@dataclass(frozen=True)
class NewReference:
    file_name: str
    image_sha256: str
    image_bytes: bytes
    box: tuple[int, int, int, int] | None
    normalized_png: bytes
    embedding: np.ndarray


def _sqlite_pragmas(dbapi_connection, _record) -> None:
    cursor = dbapi_connection.cursor()
    # WAL: readers never block the writer; a crash never leaves a half-written page
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
    cursor.close()


def _pg_writer_lock(conn, cursor, statement, _parameters, _context, _executemany) -> None:
    """PostgreSQL: the first write of a transaction waits for the writer lock, held to its end.

    The same rule as SQLite's (one writer at a time, readers never wait), for the same reason:
    every audited change (a verification, a batch flush, a registration) must get its row ids in
    the order its audit record takes in the chain, or the cross-check of tables against the
    trail (security/crosscheck.py) would see rows out of step with their records. Under READ
    COMMITTED alone, two clerks' rows could be numbered in one order and audited in the other.
    A writer holds the lock only for the few statements of its transaction (the model runs
    before it), so clerks wait for each other's commits, milliseconds, never for more than one
    transaction; queries never take it. One writer at a time also means no deadlocks.
    """
    if conn.info.get("sigverify_writer_lock") or not statement.lstrip()[:6].upper().startswith(WRITE_VERBS):
        return
    cursor.execute("SELECT pg_advisory_xact_lock(%s)", (WRITER_LOCK_KEY,))
    conn.info["sigverify_writer_lock"] = True


def _pg_transaction_edge(conn) -> None:
    """At begin, commit and rollback: the server releases the lock with the transaction."""
    conn.info.pop("sigverify_writer_lock", None)


def _is_locked(exc: Exception) -> bool:
    if getattr(getattr(exc, "orig", None), "sqlstate", None) in RETRYABLE_SQLSTATES:
        return True
    return "locked" in str(exc).lower() or "busy" in str(exc).lower()


# what libpq says when the server cannot be reached or went away (not: it answered with an error)
UNREACHABLE_WORDS = ("connection refused", "timeout expired", "could not translate host name", "no route to host",
                     "network is unreachable", "connection timed out", "server closed the connection",
                     "connection is lost", "connection is closed", "consuming input failed",
                     "no such file or directory", "could not connect")
SERVER_SHUTDOWN_SQLSTATES = {"57P01", "57P02", "57P03"}  # administrator / crash shutdown, starting up


def _is_unreachable(exc: Exception) -> bool:
    if getattr(exc, "connection_invalidated", False):
        return True
    orig = getattr(exc, "orig", exc)
    if getattr(orig, "sqlstate", None) in SERVER_SHUTDOWN_SQLSTATES:
        return True
    return isinstance(exc, OperationalError) and any(words in str(orig).lower() for words in UNREACHABLE_WORDS)


def _engine_options(url) -> dict:
    if url.get_backend_name() != "postgresql":
        return {}
    # pre_ping: a pooled connection the server dropped (restart, network) is replaced, not failed;
    # application_name: the DBA sees which program holds which connection
    return {"pool_pre_ping": True,
            "connect_args": {"connect_timeout": SERVER_CONNECT_TIMEOUT_S, "application_name": "sigverify"}}


class Store:
    def __init__(self, url: str | None = None, cipher=None, create: bool = True):
        """``create=False`` opens only an existing sigverify database (NoStoreError otherwise).
        Without ``url``: the database setting of this PC (dbconfig.py), else SQLite in the data folder."""
        try:
            setting = database_setting(url)
            connect = connect_url(setting)
        except DatabaseSettingError as exc:
            raise StoreError(str(exc)) from None
        if setting.source == "default":
            default_db_url()  # makes the user data folder
        self.url = setting.url  # never with the password (dbconfig refuses one in a URL)
        self.cipher = cipher or PlainCipher()
        try:
            self.engine: Engine = create_engine(connect, future=True, **_engine_options(connect))
        except ImportError as exc:
            raise StoreError(f"cannot open database {self.url!r}: its driver is not installed ({exc.name or exc}); "
                             "for PostgreSQL: pip install 'sigverify[postgres]'") from None
        except Exception as exc:  # bad URL
            raise StoreError(f"cannot open database {self.url!r}: {_without_password(exc, connect)}") from None
        if not create:
            self._require_existing()
        if self.engine.dialect.name == "sqlite":
            event.listen(self.engine, "connect", _sqlite_pragmas)
            self._ensure_sqlite_folder()
        elif self.engine.dialect.name == "postgresql":
            event.listen(self.engine, "before_cursor_execute", _pg_writer_lock)
            for edge in ("begin", "commit", "rollback"):
                event.listen(self.engine, edge, _pg_transaction_edge)
        self.migrate()

    def _require_existing(self) -> None:
        database = self.engine.url.database if self.engine.dialect.name == "sqlite" else None
        if database and database != ":memory:" and not Path(database).expanduser().is_file():
            self.engine.dispose()
            raise NoStoreError(self.location, self.url)  # checked before connecting: SQLite would create the file
        try:
            with self.engine.connect() as conn:
                exists = inspect(conn).has_table(schema_version.name)
        except (OperationalError, DBAPIError) as exc:
            self.engine.dispose()
            raise self._store_error(exc) from exc
        if not exists:
            self.engine.dispose()
            raise NoStoreError(self.location, self.url, "there is no sigverify database in")

    def _ensure_sqlite_folder(self) -> None:
        database = self.engine.url.database
        if database and database != ":memory:":
            Path(database).expanduser().parent.mkdir(parents=True, exist_ok=True)

    @property
    def location(self) -> str:
        """The SQLite file, or the server URL as configured (never with a password)."""
        database = self.engine.url.database if self.engine.dialect.name == "sqlite" else None
        return str(database) if database else self.url

    def _store_error(self, exc: Exception) -> StoreError:
        reason = _without_password(getattr(exc, "orig", exc), self.engine.url)
        if _is_locked(exc):
            return StoreError(
                f"the database {self.location} is locked by another program; try again in a moment"
            )
        if "password authentication failed" in reason:
            return StoreError(f"the database server {self.location} refused this PC's password: check the "
                              "password setting (SIGVERIFY_DB_PASSWORD, the password_file in database.conf, the "
                              f"keyring or ~/.pgpass; README, 'A shared PostgreSQL store') ({reason})")
        if self.engine.dialect.name != "sqlite" and _is_unreachable(exc):
            return StoreUnreachableError(
                f"the database server {self.engine.url.host or 'localhost'}:{self.engine.url.port or 5432} "
                f"({self.location}) cannot be reached, so nothing was saved: "
                f"check the network connection and try again; if it persists, tell IT ({reason})")
        return StoreError(f"database error in {self.location}: {reason}")

    def run(self, work: Callable):
        """Run ``work(conn)`` in a transaction, retrying the whole unit if the database is locked."""
        last: Exception | None = None
        for attempt in range(LOCK_RETRIES):
            try:
                with self.engine.begin() as conn:
                    return work(conn)
            except (OperationalError, DBAPIError) as exc:
                last = exc
                if not _is_locked(exc):
                    break
                time.sleep(0.2 * (attempt + 1))
        raise self._store_error(last) from last

    # --- schema -------------------------------------------------------------------------
    def migrate(self) -> None:
        """Create or upgrade the schema (Alembic), all in one transaction; a no-op when up to date."""
        from . import migrations  # its env imports this module's tables

        if self.run(lambda conn: migrations.up_to_date(conn, schema_version)):
            return  # every start of every program: one read, no lock

        def work(conn):
            if conn.dialect.name == "sqlite":
                # the driver starts a transaction only at the first INSERT/UPDATE and would run
                # CREATE/ALTER outside it (a failed upgrade half done); IMMEDIATE: a second program
                # starting at the same moment waits here (busy timeout), then finds nothing to do
                conn.exec_driver_sql("BEGIN IMMEDIATE")
            if conn.dialect.name == "postgresql":
                # two clerk PCs starting a new sigverify at once: one upgrades, the other waits, then
                # finds nothing to do (the lock ends with the transaction)
                conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": MIGRATION_LOCK_KEY})
            migrations.upgrade(conn, schema_version)

        try:
            self.run(work)
        except migrations.SchemaTooNewError as exc:
            raise StoreError(f"database {self.location} has {exc}: install the newer sigverify") from None
        except RuntimeError as exc:
            if isinstance(exc, StoreError):
                raise
            raise StoreError(f"database {self.location} cannot be upgraded: {exc}") from exc

    def schema_version(self) -> int:
        return self.run(lambda conn: conn.execute(select(func.max(schema_version.c.version))).scalar())

    # --- customers ----------------------------------------------------------------------
    def add_customer(self, customer_id: str, name: str | None = None, account: str | None = None,
                     user: str | None = None, conn=None) -> Customer:
        def work(c):
            existing = self._customer_row(c, customer_id)
            if existing is not None:
                return existing
            c.execute(insert(customers).values(customer_id=customer_id, name=name, account=account,
                                               created_at=now_iso(), created_by=user))
            return self._customer_row(c, customer_id)

        row = work(conn) if conn is not None else self.run(work)
        return self._to_customer(row)

    @staticmethod
    def update_customer(conn, customer_id: str, name: str | None = None, account: str | None = None) -> dict:
        """Set the given fields inside the caller's transaction (which audits them); returns what changed."""
        values = {k: v for k, v in (("name", name), ("account", account)) if v is not None}
        if values:
            conn.execute(update(customers).where(customers.c.customer_id == customer_id).values(**values))
        return values

    @staticmethod
    def _customer_row(conn, customer_id: str):
        return conn.execute(select(customers).where(customers.c.customer_id == customer_id)).first()

    @staticmethod
    def _to_customer(row, count: int = 0) -> Customer:
        return Customer(row.id, row.customer_id, row.name, row.account, row.created_at, count)

    def get_customer(self, customer_id: str) -> Customer | None:
        row = self.run(lambda c: self._customer_row(c, customer_id))
        return self._to_customer(row) if row is not None else None

    def require_customer(self, customer_id: str) -> Customer:
        customer = self.get_customer(customer_id)
        if customer is None:
            raise UnknownCustomerError(customer_id)
        return customer

    def list_customers(self, search: str | None = None) -> list[Customer]:
        active = (select(references.c.customer_pk, func.count().label("n"))
                  .where(references.c.removed_at.is_(None)).group_by(references.c.customer_pk).subquery())
        query = (select(customers, func.coalesce(active.c.n, 0).label("n"))
                 .outerjoin(active, active.c.customer_pk == customers.c.id).order_by(customers.c.customer_id))
        if search:
            pattern = f"%{search}%"
            query = query.where(customers.c.customer_id.ilike(pattern) | customers.c.name.ilike(pattern))
        rows = self.run(lambda c: c.execute(query).all())
        return [self._to_customer(row, row.n) for row in rows]

    # --- references ---------------------------------------------------------------------
    def add_references(self, customer_id: str, new: list[NewReference], model_version: str,
                       user: str | None = None, name: str | None = None,
                       on_commit: Callable | None = None) -> list[int]:
        """Create the customer if needed and add every reference, all or nothing."""

        def work(conn):
            customer = self.add_customer(customer_id, name=name, user=user, conn=conn)
            ids = []
            for ref in new:
                result = conn.execute(insert(references).values(
                    customer_pk=customer.pk, file_name=ref.file_name, image_sha256=ref.image_sha256,
                    image_bytes=self.cipher.encrypt(ref.image_bytes),
                    box=json.dumps(list(ref.box)) if ref.box else None,
                    normalized_png=self.cipher.encrypt(ref.normalized_png),
                    embedding=self.cipher.encrypt(np.asarray(ref.embedding, np.float32).tobytes()),
                    model_version=model_version, created_at=now_iso(), created_by=user,
                ))
                ids.append(result.inserted_primary_key[0])
            if on_commit is not None:
                on_commit(conn, customer, ids)  # e.g. the audit record, in the same transaction
            return ids

        return self.run(work)

    def references_for(self, customer_id: str, include_removed: bool = False) -> list[Reference]:
        query = (select(references, customers.c.customer_id)
                 .join(customers, customers.c.id == references.c.customer_pk)
                 .where(customers.c.customer_id == customer_id).order_by(references.c.id))
        if not include_removed:
            query = query.where(references.c.removed_at.is_(None))
        rows = self.run(lambda c: c.execute(query).all())
        return [self._to_reference(row) for row in rows]

    def _to_reference(self, row) -> Reference:
        embedding = np.frombuffer(self.cipher.decrypt(row.embedding), dtype=np.float32).copy()
        return Reference(row.id, row.customer_id, row.file_name, row.image_sha256,
                         tuple(json.loads(row.box)) if row.box else None, embedding, row.model_version,
                         row.created_at, row.created_by, row.removed_at)

    def reference_images(self, reference_id: int) -> tuple[bytes, bytes]:
        """(original file bytes, normalised PNG bytes), decrypted."""
        row = self.run(lambda c: c.execute(select(references.c.image_bytes, references.c.normalized_png)
                                           .where(references.c.id == reference_id)).first())
        if row is None:
            raise KeyError(f"no reference signature {reference_id}")
        return self.cipher.decrypt(row.image_bytes), self.cipher.decrypt(row.normalized_png)

    def remove_reference(self, reference_id: int, user: str | None, reason: str = "",
                         on_commit: Callable | None = None) -> None:
        """Soft delete: the row stays for the history, it no longer takes part in verification."""

        def work(conn):
            result = conn.execute(update(references)
                                  .where(references.c.id == reference_id, references.c.removed_at.is_(None))
                                  .values(removed_at=now_iso(), removed_by=user, removal_reason=reason))
            if result.rowcount != 1:
                raise KeyError(f"no active reference signature {reference_id}")
            if on_commit is not None:
                on_commit(conn)

        self.run(work)

    def stale_references(self, model_version: str) -> list[tuple[int, bytes, tuple | None]]:
        """Active references embedded by another model version: (id, original bytes, box)."""
        rows = self.run(lambda c: c.execute(
            select(references.c.id, references.c.image_bytes, references.c.box)
            .where(references.c.removed_at.is_(None), references.c.model_version != model_version)).all())
        return [(r.id, self.cipher.decrypt(r.image_bytes), tuple(json.loads(r.box)) if r.box else None)
                for r in rows]

    def replace_embeddings(self, updates: list[tuple[int, np.ndarray, bytes]], model_version: str,
                           on_commit: Callable | None = None) -> None:
        """New (embedding, normalised PNG) per reference id, all in one transaction."""

        def work(conn):
            for ref_id, embedding, png in updates:
                conn.execute(update(references).where(references.c.id == ref_id).values(
                    embedding=self.cipher.encrypt(np.asarray(embedding, np.float32).tobytes()),
                    normalized_png=self.cipher.encrypt(png), model_version=model_version))
            if on_commit is not None:
                on_commit(conn)  # the audit record, in the same transaction

        self.run(work)

    # --- verification records -----------------------------------------------------------
    def record_verification(self, values: dict, on_commit: Callable | None = None) -> int:
        def work(conn):
            row_id = conn.execute(insert(verifications).values(created_at=now_iso(), **values)) \
                .inserted_primary_key[0]
            if on_commit is not None:
                on_commit(conn, row_id)
            return row_id

        return self.run(work)

    def set_final_decision(self, verification_id: int, final: str, user: str | None,
                           on_commit: Callable | None = None) -> None:
        def work(conn):
            result = conn.execute(update(verifications).where(verifications.c.id == verification_id)
                                  .values(final_decision=final, final_by=user, final_at=now_iso()))
            if result.rowcount != 1:
                raise KeyError(f"no verification record {verification_id}")
            if on_commit is not None:
                on_commit(conn)

        self.run(work)

    def verification(self, verification_id: int):
        return self.run(lambda c: c.execute(select(verifications)
                                            .where(verifications.c.id == verification_id)).first())

    # --- settings -----------------------------------------------------------------------
    def get_setting(self, key: str, default=None):
        row = self.run(lambda c: c.execute(select(settings.c.value).where(settings.c.key == key)).first())
        return json.loads(row.value) if row else default

    def set_setting(self, key: str, value, conn=None) -> None:
        def work(c):
            c.execute(settings.delete().where(settings.c.key == key))
            c.execute(insert(settings).values(key=key, value=json.dumps(value)))

        work(conn) if conn is not None else self.run(work)



def _without_password(exc: Exception, url) -> str:
    """The error's text with the password blanked, should a driver ever quote the connection string."""
    message = str(exc)
    password = getattr(url, "password", None)
    return message.replace(password, "***") if password else message
