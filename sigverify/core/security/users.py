"""User accounts in the store: argon2id password hashes, first-administrator rule, login."""

from __future__ import annotations

import functools
import getpass
import hashlib
import re
import secrets
from collections.abc import Iterable, Iterator
from datetime import datetime, timedelta, timezone

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from sqlalchemy import func, insert, select, update
from sqlalchemy.exc import IntegrityError

from ..store import Store, audit_log, now_iso, users
from .audit import AuditLog
from .roles import AuthenticationError, Permission, Role, User, require

MIN_PASSWORD_LENGTH = 8
MAX_FAILED_LOGINS = 5
THROTTLE_MINUTES = 15
RECENT_RECORDS = 2000  # how far back the throttle looks in the trail (bounded: logins stay fast)
USERNAME_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9._@-]{0,63}")
BOOTSTRAP_PREFIX = "bootstrap:"  # ":" is not allowed in user names, so this never names a real user

_hasher = PasswordHasher()  # argon2id with the library's current recommended cost


@functools.cache
def _dummy_hash() -> str:
    """Verified against when the user name is unknown, so a wrong name takes as long as a wrong password."""
    return _hasher.hash(secrets.token_hex(16))


def check_username(username: str) -> str:
    if not USERNAME_PATTERN.fullmatch(username or ""):
        raise ValueError("a user name is 1-64 letters, digits, '.', '_', '@' or '-', starting with a letter or digit")
    return username


def check_password(password: str) -> str:
    if len(password or "") < MIN_PASSWORD_LENGTH:
        raise ValueError(f"a password needs at least {MIN_PASSWORD_LENGTH} characters")
    return password


def bootstrap_user(name: str | None = None) -> User:
    """Who acts on a store with no users yet: the first-time administrator (audited under this name)."""
    try:
        who = name or getpass.getuser()
    except Exception:  # no login name in a service account's environment
        who = "unknown"
    return User(f"{BOOTSTRAP_PREFIX}{who}", Role.ADMINISTRATOR, bootstrap=True)


class UserService:
    def __init__(self, store: Store, audit: AuditLog | None = None):
        self.store = store
        self.audit = audit or AuditLog(store)

    # --- reading ------------------------------------------------------------------------
    def has_users(self) -> bool:
        return bool(self.store.run(lambda c: c.execute(select(func.count()).select_from(users)).scalar()))

    def needs_first_administrator(self) -> bool:
        """True on an empty store: the GUI shows its first-administrator dialog, the CLI runs as bootstrap."""
        return not self.has_users()

    def get(self, username: str) -> User | None:
        row = self.store.run(lambda c: c.execute(select(users).where(users.c.username == username)).first())
        return _to_user(row) if row is not None else None

    def list_users(self, actor: User) -> list[User]:
        require(actor, Permission.MANAGE_USERS)
        rows = self.store.run(lambda c: c.execute(select(users).order_by(users.c.username)).all())
        return [_to_user(row) for row in rows]

    # --- login --------------------------------------------------------------------------
    def authenticate(self, username: str, password: str, record_login: bool = False) -> User:
        """The user, if the password is right and the account enabled; else AuthenticationError.

        The message never says whether the name or the password was wrong. Failures are audited;
        with ``record_login`` (the GUI's sign-in) the success too. The CLI does not: one record per
        command would bury the verifications in logins.
        """
        self._refuse_while_throttled(_printable(username))
        row = self.store.run(lambda c: c.execute(select(users).where(users.c.username == username)).first())
        matches = _password_matches(row.password_hash if row is not None else _dummy_hash(), password or "")
        if row is None or not matches:
            self.audit.record(_printable(username), "login_failed", {"username": _printable(username)})
            raise AuthenticationError(f"wrong user name or password for {_printable(username)!r}")
        user = _to_user(row)
        problems = list(user_row_problems(row, expected_user_states(self.audit, row.username).get(row.username)))
        if problems:
            # role or password hash edited in the database file, around sigverify: no login on it
            self.audit.record(user.username, "login_refused", {"username": user.username, "problems": problems})
            raise AuthenticationError(f"the account {user.username!r} was changed outside sigverify ({problems[0]}); "
                                      "an administrator must run `sigverify audit verify`")
        if user.disabled:
            self.audit.record(user.username, "login_failed", {"username": user.username, "reason": "disabled"})
            raise AuthenticationError(f"the account {user.username!r} is disabled; ask an administrator")
        if _hasher.check_needs_rehash(row.password_hash):
            # cost parameters were raised since it was set; audited so the cross-check stays exact
            self._store_hash(user.username, password, user.username, "rehash_password")
        if record_login:
            self.audit.record(user.username, "login", {"username": user.username})
        return user

    def _refuse_while_throttled(self, name: str) -> None:
        """After MAX_FAILED_LOGINS failures in THROTTLE_MINUTES, no password is even tried: guessing
        at the desk (or by a script) is slowed to a crawl. Read from the trail's newest records."""
        cutoff = datetime.now(timezone.utc) - timedelta(minutes=THROTTLE_MINUTES)
        rows = self.store.run(lambda c: c.execute(
            select(audit_log.c.created_at, audit_log.c.user).where(audit_log.c.action == "login_failed")
            .where(audit_log.c.id > select(func.coalesce(func.max(audit_log.c.id), 0) - RECENT_RECORDS)
                   .scalar_subquery())
            .order_by(audit_log.c.id.desc())).all())
        failures = [datetime.fromisoformat(r.created_at) for r in rows if r.user == name]
        failures = [t for t in failures if t >= cutoff]
        if len(failures) >= MAX_FAILED_LOGINS:
            wait = failures[MAX_FAILED_LOGINS - 1] + timedelta(minutes=THROTTLE_MINUTES) - datetime.now(timezone.utc)
            minutes = max(1, int(wait.total_seconds() // 60) + 1)
            raise AuthenticationError(f"too many wrong passwords for {name!r}: try again in {minutes} minute(s), "
                                      "or ask an administrator")

    # --- changing -----------------------------------------------------------------------
    def create_first_administrator(self, username: str, password: str) -> User:
        """Only on an empty store; needs no login. Fails if someone else got there first."""
        return self.add_user(None, username, password, Role.ADMINISTRATOR)

    def add_user(self, actor: User | None, username: str, password: str, role: Role | str) -> User:
        """An administrator adds a user; with ``actor=None`` only the first user, who must be an administrator."""
        role = Role(role)
        check_username(username)
        check_password(password)
        if actor is not None:
            require(actor, Permission.MANAGE_USERS)
        password_hash = _hasher.hash(password)

        def work(conn):
            count = conn.execute(select(func.count()).select_from(users)).scalar()
            # checked inside the transaction: two first-time dialogs cannot both create an administrator
            if count and (actor is None or actor.bootstrap):
                raise AuthenticationError("users exist already: log in as an administrator to add users")
            if not count and role is not Role.ADMINISTRATOR:
                raise ValueError("the first user must be an administrator (--role administrator)")
            conn.execute(insert(users).values(username=username, role=role.value, password_hash=password_hash,
                                              created_at=now_iso(), disabled=0))
            # the first user is recorded as created by the bootstrap session, or by itself (GUI dialog)
            self.audit.append(conn, actor.username if actor else username, "add_user",
                              {"username": username, "role": role.value, "first_user": not count,
                               "credential": credential_fingerprint(password_hash)})

        try:
            self.store.run(work)
        except IntegrityError as exc:
            raise ValueError(f"there is already a user {username!r}") from exc
        return self.get(username)

    def set_password(self, actor: User, username: str, new_password: str) -> None:
        """Administrators set anyone's password; everyone may set their own."""
        if actor.username != username:
            require(actor, Permission.MANAGE_USERS)
        check_password(new_password)
        self._require_exists(username)
        self._store_hash(username, new_password, actor.username, "set_password")

    def set_role(self, actor: User, username: str, role: Role | str) -> None:
        require(actor, Permission.MANAGE_USERS)
        role = Role(role)
        self._change(actor, username, {"role": role.value}, "set_role", demotes=role is not Role.ADMINISTRATOR)

    def set_disabled(self, actor: User, username: str, disabled: bool = True) -> None:
        require(actor, Permission.MANAGE_USERS)
        self._change(actor, username, {"disabled": int(disabled)}, "disable_user" if disabled else "enable_user",
                     demotes=disabled)

    # --- helpers ------------------------------------------------------------------------
    def _require_exists(self, username: str) -> None:
        if self.get(username) is None:
            raise KeyError(f"no user {username!r}")

    def _change(self, actor: User, username: str, values: dict, action: str, demotes: bool) -> None:
        def work(conn):
            result = conn.execute(update(users).where(users.c.username == username).values(**values))
            if result.rowcount != 1:
                raise KeyError(f"no user {username!r}")
            if demotes and not _active_admins(conn):
                # checked after the change, in the same transaction: it is rolled back
                raise ValueError("this would leave no active administrator")
            self.audit.append(conn, actor.username, action, {"username": username, **values})

        self.store.run(work)

    def _store_hash(self, username: str, password: str, audit_as: str, action: str) -> None:
        new_hash = _hasher.hash(password)

        def work(conn):
            conn.execute(update(users).where(users.c.username == username).values(password_hash=new_hash))
            self.audit.append(conn, audit_as, action,
                              {"username": username, "credential": credential_fingerprint(new_hash)})

        self.store.run(work)


def credential_fingerprint(password_hash: str) -> str:
    """Names a password hash in the audit trail without exposing it to offline guessing (the argon2
    string itself would be): a hash swapped in the users table no longer matches the trail."""
    return hashlib.sha256(password_hash.encode("utf-8")).hexdigest()[:32]


USER_ACTIONS = ("add_user", "set_role", "disable_user", "enable_user", "set_password", "rehash_password")


def expected_user_states(log: AuditLog, username: str | None = None) -> dict[str, dict]:
    """username -> {role, disabled, credential} as the audit trail says they were last set."""
    expected: dict[str, dict] = {}
    for rec in log.records(actions=USER_ACTIONS):
        name = rec.details.get("username")
        if username is not None and name != username:
            continue
        state = expected.setdefault(name, {})
        for key in ("role", "disabled", "credential"):
            if key in rec.details:
                state[key] = rec.details[key]
    return expected


def user_row_problems(row, state: dict | None) -> Iterator[str]:
    """How a users row differs from what the audit trail says it should be."""
    if state is None:
        yield f"user {row.username!r} was never added through sigverify"
        return
    if state.get("role") != row.role:
        yield f"user {row.username!r} has role {row.role!r}; the audit trail says {state.get('role')!r}"
    if int(state.get("disabled", 0)) != int(row.disabled):
        yield f"user {row.username!r}: disabled={row.disabled} in the table, not as the audit trail says"
    if "credential" in state and state["credential"] != credential_fingerprint(row.password_hash):
        yield f"user {row.username!r}: the password hash was replaced outside sigverify"


def is_last_active_administrator(accounts: Iterable[User], username: str) -> bool:
    """Demoting or disabling ``username`` would leave no active administrator (asked before asking)."""
    active = [u.username for u in accounts if u.role is Role.ADMINISTRATOR and not u.disabled]
    return active == [username]


def _active_admins(conn) -> int:
    return conn.execute(select(func.count()).select_from(users).where(
        users.c.role == Role.ADMINISTRATOR.value, users.c.disabled == 0)).scalar()


def _password_matches(password_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(password_hash, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def _printable(text: str) -> str:
    """User names typed at a login prompt may be anything; keep the audit record readable and short."""
    return (text or "").encode("utf-8", "backslashreplace").decode("ascii", "backslashreplace")[:128]


def _to_user(row) -> User:
    return User(row.username, Role(row.role), id=row.id, created_at=row.created_at, disabled=bool(row.disabled))
