"""sigverify register CUSTOMER_ID IMAGE [IMAGE ...] [--name NAME]"""

from __future__ import annotations


def add_parser(subparsers, common) -> None:
    p = subparsers.add_parser("register", parents=[common], help="register reference signature(s) for a customer")
    p.add_argument("customer_id")
    p.add_argument("images", nargs="+", metavar="IMAGE", help="signature crops or whole cheques")
    p.add_argument("--name", help="the customer's name (new customers)")
    p.add_argument("--account", help="account number, to map image cash letter items to this customer")
    p.set_defaults(handler=run)


def run(args, ctx) -> int:
    result = ctx.session.register(args.customer_id, args.images, name=args.name)
    if args.account:
        ctx.session.update_customer(args.customer_id, account=args.account)  # guarded and audited
    ctx.emit(
        {"customer_id": result.customer_id, "reference_ids": result.reference_ids, "files": result.files,
         "boxes": [list(b) if b else None for b in result.boxes], "model": ctx.session.model_version},
        f"registered {len(result.reference_ids)} reference signature(s) for {result.customer_id}",
    )
    return 0
