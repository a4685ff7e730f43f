"""sigverify model accept PATH [--reason TEXT] | list | revoke SHA256  (administrators)

A model file that does not match the SHA-256 in its card is refused; an administrator can
accept that exact file, and the acceptance is audited.
"""

from __future__ import annotations

from ...core.security import Permission, accept_model, accepted_models, require, revoke_model


def add_parser(subparsers, common) -> None:
    p = subparsers.add_parser("model", help="accept a model file that does not match its card (administrators)")
    sub = p.add_subparsers(dest="model_command", metavar="ACTION", required=True)
    accept = sub.add_parser("accept", parents=[common], help="accept this exact model file")
    accept.add_argument("path", metavar="PATH")
    accept.add_argument("--reason", default="", help="why (goes into the audit trail)")
    sub.add_parser("list", parents=[common], help="list accepted model files")
    revoke = sub.add_parser("revoke", parents=[common], help="withdraw an acceptance")
    revoke.add_argument("sha256")
    p.set_defaults(handler=run)


def run(args, ctx) -> int:
    user = ctx.current_user
    if args.model_command == "accept":
        entry = accept_model(ctx.store, user, args.path, reason=args.reason, audit=ctx.audit)
        ctx.emit(entry, f"accepted {args.path} (SHA-256 {entry['sha256']}, model {entry['model_version']})")
    elif args.model_command == "revoke":
        revoke_model(ctx.store, user, args.sha256, audit=ctx.audit)
        ctx.emit({"sha256": args.sha256, "revoked": True}, f"acceptance of {args.sha256} withdrawn")
    else:
        require(user, Permission.CHANGE_MODEL)
        for digest, entry in accepted_models(ctx.store).items():
            ctx.emit({"sha256": digest, **entry}, f"{digest}\t{entry['file']}\t{entry['accepted_by']}")
    return 0
