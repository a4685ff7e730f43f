"""sigverify audit verify | export PATH.csv  (administrators)"""

from __future__ import annotations

from ...core.security import Permission, require, table_problems
from ..exit_codes import ExitCode

BROKEN_CHAIN_EXIT = ExitCode.AUDIT_BROKEN


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
        try:
            count = ctx.audit.export_csv(args.path)
        except OSError as exc:
            raise ValueError(f"cannot write {args.path}: {exc.strerror or exc}") from exc
        ctx.emit({"path": args.path, "records": count}, f"wrote {count} audit record(s) to {args.path}")
        return 0
    check = ctx.audit.verify()
    # the tables are compared only with an intact trail: a broken one cannot vouch for anything
    problems = table_problems(ctx.store, ctx.audit) if check.ok else []
    data = {**check.to_dict(), "table_problems": problems}
    if not check.ok:
        ctx.emit(data, f"AUDIT TRAIL BROKEN at record {check.first_bad_id}: {check.reason} "
                       f"({check.records} record(s) before it check out)")
        return BROKEN_CHAIN_EXIT
    if problems:
        ctx.emit(data, "audit trail intact, but the tables were changed outside sigverify:\n  "
                       + "\n  ".join(problems))
        return BROKEN_CHAIN_EXIT
    ctx.emit(data, f"audit trail intact: {check.records} record(s), tables agree; head hash {check.head_hash}")
    return 0
