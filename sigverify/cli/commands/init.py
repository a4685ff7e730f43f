"""sigverify init [--db URL]: create a new, empty database on purpose.

Every other command opens only an existing database, so a mistyped ``--db`` is an error
that names the path instead of a new, empty store that answers "unknown customer" to everything.
"""

from __future__ import annotations

from ...core.security import open_store
from ...core.store import NoStoreError


def add_parser(subparsers, common) -> None:
    p = subparsers.add_parser("init", parents=[common], help="create a new, empty database (at --db, or the default)")
    p.set_defaults(handler=run)


def run(args, ctx) -> int:
    url = getattr(args, "db", None)
    try:
        store = open_store(url)
        created = False
    except NoStoreError:
        store = open_store(url, create=True)
        created = True
    ctx.use_store(store)
    what = "created a new, empty database" if created else "the database already exists; nothing changed:"
    ctx.emit({"database": store.location, "created": created, "schema_version": store.schema_version()},
             f"{what} {store.location}")
    return 0
