"""Roles, users and the one permission table that the CLI, the GUI and batch all go through."""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum


class Role(str, Enum):
    CLERK = "clerk"
    ADMINISTRATOR = "administrator"

    @property
    def label(self) -> str:
        return {"clerk": "Clerk", "administrator": "Administrator"}[self.value]


class Permission(str, Enum):
    VERIFY = "verify"  # run a verification (and see the customers and their references)
    FINAL_DECISION = "final_decision"  # record the clerk's own decision on a verification
    REGISTER = "register"  # register or replace reference signatures, edit customers
    REMOVE_REFERENCE = "remove_reference"
    SET_THRESHOLDS = "set_thresholds"
    CHANGE_MODEL = "change_model"  # accept a model file that does not match its card
    MANAGE_USERS = "manage_users"
    READ_AUDIT = "read_audit"  # check and export the audit trail
    BACKUP = "backup"


# The whole policy in one table: a permission not listed for a role is denied.
ROLE_PERMISSIONS: dict[Role, frozenset[Permission]] = {
    Role.CLERK: frozenset({Permission.VERIFY, Permission.FINAL_DECISION}),
    Role.ADMINISTRATOR: frozenset(Permission),
}

# what the refusal says, so a clerk knows whom to ask rather than seeing a bare "denied"
_ACTION_WORDS: dict[Permission, str] = {
    Permission.VERIFY: "verify signatures",
    Permission.FINAL_DECISION: "record final decisions",
    Permission.REGISTER: "register or replace reference signatures",
    Permission.REMOVE_REFERENCE: "remove reference signatures",
    Permission.SET_THRESHOLDS: "change the decision thresholds",
    Permission.CHANGE_MODEL: "change or accept the model",
    Permission.MANAGE_USERS: "manage users",
    Permission.READ_AUDIT: "read or export the audit trail",
    Permission.BACKUP: "back up the database",
}


class PermissionDenied(PermissionError):
    """The logged-in user's role does not allow this action; the message says who may."""


class ModelNotAllowed(PermissionDenied):
    """This user may not run this model file: not the bundled model, and no administrator accepted it."""


class AuthenticationError(PermissionError):
    """Unknown user, wrong password, disabled account, or no login where one is needed."""


@dataclass(frozen=True)
class User:
    username: str
    role: Role
    id: int | None = None  # None for the bootstrap administrator of an empty store
    created_at: str | None = None
    disabled: bool = False
    bootstrap: bool = False  # True: no user exists yet; acting as the first-time administrator

    @property
    def is_admin(self) -> bool:
        return self.role is Role.ADMINISTRATOR

    def can(self, permission: Permission) -> bool:
        return not self.disabled and permission in ROLE_PERMISSIONS[self.role]

    def to_dict(self) -> dict:
        return {"username": self.username, "role": self.role.value, "created_at": self.created_at,
                "disabled": self.disabled}


def require(user: User | None, permission: Permission) -> User:
    """THE permission check. Raises PermissionDenied with a message a clerk can act on."""
    if user is None:
        raise AuthenticationError(f"log in to {_ACTION_WORDS[permission]}")
    if user.disabled:
        raise PermissionDenied(f"the account {user.username!r} is disabled")
    if permission not in ROLE_PERMISSIONS[user.role]:
        allowed = [r.label.lower() for r, perms in ROLE_PERMISSIONS.items() if permission in perms]
        raise PermissionDenied(
            f"{user.username} ({user.role.label.lower()}) may not {_ACTION_WORDS[permission]}: "
            f"only {' or '.join(allowed)}s may; ask an administrator"
        )
    return user
