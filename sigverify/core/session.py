"""One place assembles what a face works with: store + engine + verifier + access policy.

The CLI (cli/context.py) and the GUI (gui/context.py) both build a ``Session`` with
``open_session`` once someone is logged in and the model is loaded, and act only through it:
each action asks the access policy first, then runs the Verifier as the logged-in user, so the
audit trail names who did it. Batch runs start here too (``Session.batch``).

    store = open_store(url)                                # encrypted reference data, key checked
    engine = load_engine(store, model_path, device)        # the model, under the trust rules
    session = open_session(engine, store, user)            # refuses a model the user may not run
    session.verify(customer_id, path)                      # -> VerificationResult
"""

from __future__ import annotations

from collections.abc import Callable

from .batch import BatchOptions, BatchProgress, BatchRunner, ItemResult
from .engine import Engine
from .pipeline import Box, PreparedSignature, ScoreResult, Thresholds, UnsignedChequeError
from .security import AccessPolicy, AuditLog, Permission, User, accepted_model_hashes
from .store import Store
from .verify import RegistrationResult, VerificationResult, Verifier


def load_engine(store: Store | None, model_path: str | None = None, device: str = "auto") -> Engine:
    """The verifier network (the bundled one unless a path is given). A file that does not match
    its card loads only if an administrator accepted that exact file in this store (``None``: no
    store, so nothing was accepted)."""
    accepted = accepted_model_hashes(store) if store is not None else frozenset()
    return Engine(model_path, device=device, accepted_sha256=accepted)


class Session:
    """A logged-in user's work with one store and one model."""

    def __init__(self, verifier: Verifier, user: User):
        if verifier.audit is None:
            # a change without its audit record would be a hole in the trail
            verifier.audit = AuditLog(verifier.store)
        self.verifier = verifier
        self.policy = AccessPolicy(verifier.store, user)
        self.policy.require_model(verifier.engine)

    # --- what any logged-in user may read ---------------------------------------------------
    @property
    def user(self) -> User:
        return self.policy.user

    @property
    def engine(self) -> Engine:
        return self.verifier.engine

    @property
    def store(self) -> Store:
        """For reading (customers, references, records); changes go through the methods below."""
        return self.verifier.store

    @property
    def audit(self) -> AuditLog:
        return self.verifier.audit

    @property
    def model_version(self) -> str:
        return self.verifier.model_version

    def thresholds(self) -> Thresholds:
        return self.verifier.thresholds()

    def prepare(self, source, name: str | None = None, box: Box | None = None) -> PreparedSignature:
        return self.verifier.prepare(source, name, box)

    # --- clerk and administrator -----------------------------------------------------------
    def score(self, customer_id: str, embedding) -> ScoreResult:
        self.policy.require(Permission.VERIFY)
        return self.verifier.score(customer_id, embedding)

    def verify(self, customer_id: str, source, name: str | None = None, box: Box | None = None,
               record: bool = True) -> VerificationResult:
        self.policy.require(Permission.VERIFY)
        return self.verifier.verify(customer_id, source, name=name, box=box, user=self.policy.username,
                                    record=record)

    def refer_unsigned(self, customer_id: str, unsigned: UnsignedChequeError, record: bool = True
                       ) -> VerificationResult:
        """The "refer" verification of a cheque ``prepare`` judged unsigned (what ``verify`` returns)."""
        self.policy.require(Permission.VERIFY)
        return self.verifier.refer_unsigned(customer_id, unsigned, user=self.policy.username, record=record)

    def record_final_decision(self, record_id: int, final: str) -> None:
        self.policy.require(Permission.FINAL_DECISION)
        self.verifier.record_final_decision(record_id, final, self.policy.username)

    def refresh_stale_embeddings(self) -> int:
        # not a decision of the clerk's: it re-derives references after a model change that an
        # administrator already made or accepted, so any logged-in user's start may trigger it
        self.policy.require(Permission.VERIFY)
        return self.verifier.refresh_stale_embeddings(user=self.policy.username)

    def batch(self, options: BatchOptions, *, on_progress: Callable[[BatchProgress], None] | None = None,
              on_result: Callable[[ItemResult], None] | None = None,
              should_stop: Callable[[], bool] | None = None) -> BatchRunner:
        """A batch run as this user (``.run()`` it): every flush is audited in their name."""
        self.policy.require(Permission.VERIFY)
        return BatchRunner(self.verifier, options, user=self.policy.username, on_progress=on_progress,
                           on_result=on_result, should_stop=should_stop)

    # --- administrator only ----------------------------------------------------------------
    def register(self, customer_id: str, sources: list, name: str | None = None) -> RegistrationResult:
        self.policy.require(Permission.REGISTER)
        return self.verifier.register(customer_id, sources, name=name, user=self.policy.username)

    def update_customer(self, customer_id: str, name: str | None = None, account: str | None = None) -> None:
        self.policy.require(Permission.REGISTER)
        store, user = self.store, self.policy.username
        store.require_customer(customer_id)

        def work(conn):
            values = store.update_customer(conn, customer_id, name=name, account=account)
            if values:
                self.audit(conn, user, "update_customer", {"customer_id": customer_id, **values})

        store.run(work)

    def remove_reference(self, customer_id: str, reference_id: int, reason: str = "") -> None:
        self.policy.require(Permission.REMOVE_REFERENCE)
        self.verifier.remove_reference(customer_id, reference_id, self.policy.username, reason)

    def set_thresholds(self, accept: float | None, reject: float | None) -> Thresholds:
        self.policy.require(Permission.SET_THRESHOLDS)
        return self.verifier.set_thresholds(accept, reject, self.policy.username)


def open_session(engine: Engine, store: Store, user: User) -> Session:
    """The session for ``user``, with the chained audit trail as the Verifier's hook."""
    return Session(Verifier(engine, store, audit=AuditLog(store)), user)
