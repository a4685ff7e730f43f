"""The permission guard around the Verifier: the one object the CLI, the GUI and batch act through.

It has the Verifier's method names, so code written for a Verifier works unchanged; each
method first asks ``require`` (roles.py) and then records the LOGGED-IN user, whatever ``user``
argument a caller passes (kept only so the signatures match).
"""

from __future__ import annotations

from ..engine import Engine
from ..model_trust import is_bundled_model
from ..store import Store
from ..verify import Verifier
from .audit import AuditLog
from .models import accepted_model_hashes
from .roles import ModelNotAllowed, Permission, PermissionDenied, User, require
from .users import UserService


class GuardedVerifier:
    def __init__(self, verifier: Verifier, user: User):
        if verifier.audit is None:
            # a change without its audit record would be a hole in the trail
            verifier.audit = AuditLog(verifier.store)
        require_model_allowed(verifier, user)
        self._verifier = verifier
        self.user = user

    def _require(self, permission: Permission) -> None:
        """Check against the account as it is NOW in the store: a user disabled or demoted by
        another administrator while logged in loses the right at their next action."""
        if not self.user.bootstrap:
            current = UserService(self.store).get(self.user.username)
            if current is None:
                raise PermissionDenied(f"the account {self.user.username!r} no longer exists")
            self.user = current
        require(self.user, permission)

    # --- read-only views (any logged-in user) -------------------------------------------------
    @property
    def engine(self) -> Engine:
        return self._verifier.engine

    @property
    def store(self) -> Store:
        """For reading (customers, references, records); changes go through the methods below."""
        return self._verifier.store

    @property
    def audit(self):
        return self._verifier.audit

    @property
    def model_version(self) -> str:
        return self._verifier.model_version

    def thresholds(self):
        return self._verifier.thresholds()

    def prepare(self, source, name=None, box=None):
        return self._verifier.prepare(source, name, box)

    # --- clerk and administrator --------------------------------------------------------------
    def score(self, customer_id, embedding):
        self._require(Permission.VERIFY)
        return self._verifier.score(customer_id, embedding)

    def verify(self, customer_id, source, name=None, box=None, user=None, record=True):
        self._require(Permission.VERIFY)
        return self._verifier.verify(customer_id, source, name=name, box=box, user=self.user.username,
                                     record=record)

    def verify_embedding(self, customer_id, prepared, embedding, user=None, record=True):
        self._require(Permission.VERIFY)
        return self._verifier.verify_embedding(customer_id, prepared, embedding, user=self.user.username,
                                               record=record)

    def record_final_decision(self, record_id, final, user=None):
        self._require(Permission.FINAL_DECISION)
        return self._verifier.record_final_decision(record_id, final, self.user.username)

    def refresh_stale_embeddings(self) -> int:
        # not a decision of the clerk's: it re-derives references after a model change that an
        # administrator already made or accepted, so any logged-in user's start may trigger it
        self._require(Permission.VERIFY)
        return self._verifier.refresh_stale_embeddings(user=self.user.username)

    # --- administrator only -------------------------------------------------------------------
    def register(self, customer_id, sources, name=None, user=None):
        self._require(Permission.REGISTER)
        return self._verifier.register(customer_id, sources, name=name, user=self.user.username)

    def update_customer(self, customer_id, name=None, account=None) -> None:
        self._require(Permission.REGISTER)
        store = self.store
        store.require_customer(customer_id)

        def work(conn):
            values = store.update_customer(conn, customer_id, name=name, account=account)
            if values:
                self.audit(conn, self.user.username, "update_customer", {"customer_id": customer_id, **values})

        store.run(work)

    def remove_reference(self, customer_id, reference_id, user=None, reason=""):
        self._require(Permission.REMOVE_REFERENCE)
        return self._verifier.remove_reference(customer_id, reference_id, self.user.username, reason)

    def set_thresholds(self, accept, reject, user=None):
        self._require(Permission.SET_THRESHOLDS)
        return self._verifier.set_thresholds(accept, reject, self.user.username)


def require_model_allowed(verifier: Verifier, user: User) -> None:
    """Choosing the model is an administrator's decision: a card next to a model file proves
    nothing against a clerk who wrote both (a model's metadata carries its own thresholds).
    So others run the bundled model, or a file an administrator accepted (audited)."""
    engine = verifier.engine
    allowed = getattr(verifier, "_model_allowed_for", set())
    if user.username in allowed:
        return
    if user.can(Permission.CHANGE_MODEL) or is_bundled_model(engine.path) \
            or engine.check.sha256 in accepted_model_hashes(verifier.store):
        allowed.add(user.username)  # remembered: the GUI builds a guard per use
        verifier._model_allowed_for = allowed
        return
    require(user, Permission.VERIFY)  # a disabled account hears that first
    raise ModelNotAllowed(
        f"{user.username} ({user.role.value}) may not use the model file {engine.path.name}: only the bundled "
        "model, or a model file an administrator accepted; ask an administrator")


def guarded_verifier(engine: Engine, store: Store, user: User) -> GuardedVerifier:
    """A Verifier with the chained audit trail as its hook, behind the permission guard."""
    return GuardedVerifier(Verifier(engine, store, audit=AuditLog(store)), user)
