"""sigverify audit verify | export PATH.csv  (administrators)"""

from __future__ import annotations

from ...core.security import Permission, require

BROKEN_CHAIN_EXIT = 9


def add_parser(subparsers, common) -> None:
    p = subparsers.add_parser("audit", help="check or export the audit trail (administrators)")
    sub = p.add_subparsers(dest="audit_command", metavar="ACTION", required=True)
    sub.add_parser("verify", parents=[common], help="check the hash chain; report the first broken record")
    export = sub.add_parser("export", parents=[common], help="write every record to a CSV file")
    export.add_argument("path", metavar="PATH.csv")
    p.set_defaults(handler=run)


def run(args, ctx) -> int:
    require(ctx.current_user, Permission.READ_AUDIT)
    if args.audit_command == "export":
        count = ctx.audit.export_csv(args.path)
        ctx.emit({"path": args.path, "records": count}, f"wrote {count} audit record(s) to {args.path}")
        return 0
    check = ctx.audit.verify()
    if check.ok:
        ctx.emit(check.to_dict(), f"audit trail intact: {check.records} record(s); head hash {check.head_hash}")
        return 0
    ctx.emit(check.to_dict(), f"AUDIT TRAIL BROKEN at record {check.first_bad_id}: {check.reason} "
                              f"({check.records} record(s) before it check out)")
    return BROKEN_CHAIN_EXIT
