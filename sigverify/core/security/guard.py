"""The access policy: who may do what, and which model file they may run.

It is not a service of its own: ``core.session.Session`` asks it before every action and then
acts as the logged-in user (the audit trail names them, whatever a caller would pass). The
rules themselves are the role table in roles.py; this module applies them to one user, re-read
from the store at each action, and adds the model rule.
"""

from __future__ import annotations

from ..engine import Engine
from ..model_trust import is_bundled_model
from ..store import Store
from .models import accepted_model_hashes
from .roles import ModelNotAllowed, Permission, PermissionDenied, User, require
from .users import UserService


class AccessPolicy:
    """The rules applied to one logged-in user."""

    def __init__(self, store: Store, user: User):
        self.store = store
        self.user = user

    @property
    def username(self) -> str:
        return self.user.username

    def require(self, permission: Permission) -> User:
        """Check against the account as it is NOW in the store: a user disabled or demoted by
        another administrator while logged in loses the right at their next action."""
        if not self.user.bootstrap:
            current = UserService(self.store).get(self.user.username)
            if current is None:
                raise PermissionDenied(f"the account {self.user.username!r} no longer exists")
            self.user = current
        require(self.user, permission)
        return self.user

    def require_model(self, engine: Engine) -> None:
        """Choosing the model is an administrator's decision: a card next to a model file proves
        nothing against a clerk who wrote both (a model's metadata carries its own thresholds).
        So others run the bundled model, or a file an administrator accepted (audited)."""
        if self.user.can(Permission.CHANGE_MODEL) or is_bundled_model(engine.path) \
                or engine.check.sha256 in accepted_model_hashes(self.store):
            return
        require(self.user, Permission.VERIFY)  # a disabled account hears that first
        raise ModelNotAllowed(
            f"{self.user.username} ({self.user.role.value}) may not use the model file {engine.path.name}: only "
            "the bundled model, or a model file an administrator accepted; ask an administrator")
