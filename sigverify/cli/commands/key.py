"""sigverify key export PATH | import PATH  (administrators): the reference-data key, for restoring backups.

The key is kept outside the database (OS keyring or key file), so a backup alone cannot be
read anywhere, by design. Export it once to removable media kept apart from the backups;
on a new PC, ``key import`` installs it after checking that it opens this database.
"""

from __future__ import annotations

from pathlib import Path

from ...core.security import AesGcmCipher, Permission, require
from ...core.security.crypto import check_store_key, export_key, install_key, key_from_file
from ...core.store import Store


def add_parser(subparsers, common) -> None:
    p = subparsers.add_parser("key", help="export or import the reference-data encryption key (administrators)")
    sub = p.add_subparsers(dest="key_command", metavar="ACTION", required=True)
    export = sub.add_parser("export", parents=[common], help="write the key to a new file (owner-only)")
    export.add_argument("path", type=Path)
    imp = sub.add_parser("import", parents=[common], help="install a key exported from another PC")
    imp.add_argument("path", type=Path)
    p.set_defaults(handler=run)


def run(args, ctx) -> int:
    if args.key_command == "export":
        user = require(ctx.current_user, Permission.BACKUP)
        try:
            path = export_key(args.path)
        except OSError as exc:
            raise ValueError(f"cannot write {args.path}: {exc.strerror or exc}") from exc
        ctx.audit.record(user.username, "export_key", {"path": str(path)})
        ctx.emit({"path": str(path)}, f"key written to {path}: keep it apart from the backups, like a safe's key")
        return 0
    key = key_from_file(args.path)
    store = Store(getattr(args, "db", None), cipher=AesGcmCipher(key, f"the key file {args.path}"), create=False)
    check_store_key(store)  # refuses a key that does not open this database
    ctx.use_store(store)  # log in against the database this key opens
    user = require(ctx.current_user, Permission.BACKUP)
    where = install_key(key)
    ctx.audit.record(user.username, "import_key", {"installed_in": where})
    ctx.emit({"installed_in": where}, f"key installed in {where}")
    return 0
