"""What a command needs, built lazily from the common options: engine, store, login, verifier, output.

Login: ``--user NAME`` (password from ``--password-file``, else ``SIGVERIFY_PASSWORD``, else a
prompt), or ``SIGVERIFY_USER`` + ``SIGVERIFY_PASSWORD`` for automation; never a password argument.
A store with no users yet runs every command as the first-time (bootstrap) administrator and
says so on stderr, until ``sigverify users add NAME --role administrator`` creates the first user.
"""

from __future__ import annotations

import getpass
import json
import os
import sys
from functools import cached_property
from pathlib import Path

from ..core.engine import Engine
from ..core.security import (
    AuditLog,
    AuthenticationError,
    User,
    UserService,
    bootstrap_user,
    open_store,
)
from ..core.session import Session, load_engine, open_session
from ..core.store import NoStoreError, Store

LOGIN_HELP = ("this database has users: log in with --user NAME (password prompt or --password-file), "
              "or set SIGVERIFY_USER and SIGVERIFY_PASSWORD")


def read_password_file(path: str | Path) -> str:
    """The first line of the file, without its line ending (so `echo secret > file` works)."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise AuthenticationError(f"cannot read the password file {path}: {exc}") from exc
    return text.splitlines()[0] if text else ""


class CliContext:
    def __init__(self, args):
        self.args = args
        self.json = bool(getattr(args, "json", False))

    @cached_property
    def engine(self) -> Engine:
        # a model that does not match its card loads only if an administrator accepted that exact file
        engine = load_engine(self._store_for_acceptances(), getattr(self.args, "model", None),
                             getattr(self.args, "device", "auto"))
        if engine.check.accepted:
            print(f"note: model {engine.path.name} does not match its card; running it because an "
                  "administrator accepted this exact file", file=sys.stderr)
        if engine.fallback_message and getattr(self.args, "runs_model", False):
            # only where signatures are compared: `thresholds` or `customers` need not hear about CUDA
            print(f"note: {engine.fallback_message}", file=sys.stderr)
        return engine

    def _store_for_acceptances(self) -> Store | None:
        try:
            return self.raw_store
        except NoStoreError:  # no database (evaluate needs none): nothing was accepted; store users still fail
            return None

    @cached_property
    def raw_store(self) -> Store:
        """The store before login: for logging in and reading accepted models only."""
        return open_store(getattr(self.args, "db", None))

    def use_store(self, store: Store) -> None:
        """Log in against this store (opened with a key being imported) instead of the default one."""
        self.__dict__["raw_store"] = store  # what cached_property would have stored

    @cached_property
    def store(self) -> Store:
        """The store, once someone is logged in: nothing of the customers is shown to nobody."""
        _ = self.current_user
        return self.raw_store

    @cached_property
    def users(self) -> UserService:
        return UserService(self.raw_store)

    @cached_property
    def audit(self) -> AuditLog:
        return self.users.audit

    @cached_property
    def current_user(self) -> User:
        if self.users.needs_first_administrator():
            user = bootstrap_user(self._login_name())
            print(f"note: no users in this database yet: acting as the first-time administrator "
                  f"({user.username}); create one with `sigverify users add NAME --role administrator`",
                  file=sys.stderr)
            return user
        name = self._login_name()
        if not name:
            raise AuthenticationError(LOGIN_HELP)
        return self.users.authenticate(name, self._password(name))

    def _login_name(self) -> str | None:
        return getattr(self.args, "user", None) or os.environ.get("SIGVERIFY_USER") or None

    def _password(self, name: str) -> str:
        path = getattr(self.args, "password_file", None)
        if path:
            return read_password_file(path)
        if "SIGVERIFY_PASSWORD" in os.environ:
            return os.environ["SIGVERIFY_PASSWORD"]
        if not sys.stdin.isatty():
            raise AuthenticationError(f"no password for {name}: use --password-file or SIGVERIFY_PASSWORD "
                                      "when there is no terminal to type it in")
        return getpass.getpass(f"password for {name}: ")

    @cached_property
    def session(self) -> Session:
        """The logged-in user's session (store + engine + verifier + access policy)."""
        session = open_session(self.engine, self.store, self.current_user)
        refreshed = session.refresh_stale_embeddings()
        if refreshed:
            print(f"note: re-embedded {refreshed} reference(s) for model {session.model_version}", file=sys.stderr)
        return session

    @cached_property
    def user(self) -> str:
        """The logged-in user's name (what the commands record)."""
        return self.current_user.username

    def emit(self, data: dict, text: str) -> None:
        """One JSON object per line with --json, else the human sentence."""
        if self.json:
            print(json.dumps(data, ensure_ascii=False), flush=True)
        else:
            print(text, flush=True)
