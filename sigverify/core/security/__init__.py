"""Users and roles, the permission guard, the chained audit trail, encryption at rest, model acceptance.

Public API (stable; the GUI and CLI build on it):

    from sigverify.core.security import (
        Role, User, Permission, PermissionDenied, AuthenticationError, require,
        UserService, AuditLog, ChainCheck, AccessPolicy,
        open_store, default_cipher, AesGcmCipher, CipherError,
        accept_model, accepted_model_hashes, backup_database, integrity_check, bootstrap_user,
    )

    store = open_store(url)                      # encrypted reference data, key checked
    users = UserService(store)
    if users.needs_first_administrator():        # empty store: GUI shows the first-admin dialog
        user = users.create_first_administrator(name, password)   # no login needed, audited
    else:
        user = users.authenticate(name, password, record_login=True)  # AuthenticationError if wrong
    session = open_session(load_engine(store, model), store, user)   # core.session: applies AccessPolicy
    session.verify(...); session.record_final_decision(...)   # clerk and administrator
    session.register(...); session.remove_reference(...); session.set_thresholds(...)  # administrator
    AuditLog(store).verify(); table_problems(store)   # trail intact? tables as the trail says?
    users.add_user(user, "bob", password, Role.CLERK)            # administrator
    # refused actions raise PermissionDenied (a PermissionError) whose message says who may

``user.can(Permission.REGISTER)`` lets a GUI grey out what the role may not do; the session's
AccessPolicy enforces it anyway. Every change is written with its audit record in one transaction.
The policy refuses a clerk a model file that is neither the bundled one nor administrator-accepted.

Modules: roles (Role, Permission, the one table, ``require``), users (accounts, login), guard (AccessPolicy),
audit (the chain), crosscheck (tables against the trail), crypto (AES-GCM, key), models
(acceptance), backup.
"""

from __future__ import annotations

from .audit import AuditLog, AuditRecord, ChainCheck, canonical_json
from .backup import backup_database, integrity_check
from .crosscheck import table_problems
from .crypto import AesGcmCipher, CipherError, check_store_key, default_cipher, load_key, open_store
from .guard import AccessPolicy
from .models import accept_model, accepted_model_hashes, accepted_models, audited_acceptances, revoke_model
from .roles import (
    ROLE_PERMISSIONS,
    AuthenticationError,
    ModelNotAllowed,
    Permission,
    PermissionDenied,
    Role,
    User,
    require,
)
from .users import MIN_PASSWORD_LENGTH, UserService, bootstrap_user

__all__ = [
    "AccessPolicy",
    "ROLE_PERMISSIONS", "MIN_PASSWORD_LENGTH",
    "AesGcmCipher", "AuditLog", "AuditRecord", "AuthenticationError", "ChainCheck", "CipherError",
    "ModelNotAllowed", "Permission", "PermissionDenied", "Role", "User", "UserService",
    "accept_model", "accepted_model_hashes", "accepted_models", "audited_acceptances", "backup_database",
    "bootstrap_user",
    "canonical_json", "check_store_key", "default_cipher", "integrity_check", "load_key",
    "open_store", "require", "revoke_model", "table_problems",
]
