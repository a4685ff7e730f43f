"""sigverify backup PATH [--force]: online copy of the SQLite store (administrators)."""

from __future__ import annotations

import sys

from ...core.security import backup_database


def add_parser(subparsers, common) -> None:
    p = subparsers.add_parser("backup", parents=[common], help="copy the database while it is in use")
    p.add_argument("path", metavar="PATH", help="the backup file to write")
    p.add_argument("--force", action="store_true", help="replace PATH if it exists")
    p.set_defaults(handler=run)


def run(args, ctx) -> int:
    path = backup_database(ctx.store, args.path, ctx.current_user, overwrite=args.force)
    ctx.emit({"path": str(path), "bytes": path.stat().st_size}, f"backup written to {path}")
    # the reference data in the copy is encrypted; without the key it cannot be restored
    print(f"note: the encryption key is not in the backup; keep a copy of it ({ctx.store.cipher.source}) "
          "apart from the backup", file=sys.stderr)
    return 0
