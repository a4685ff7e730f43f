"""sigverify customers [--search TEXT]"""

from __future__ import annotations


def add_parser(subparsers, common) -> None:
    p = subparsers.add_parser("customers", parents=[common], help="list customers and their reference counts")
    p.add_argument("--search", help="part of a customer ID or name")
    p.set_defaults(handler=run)


def run(args, ctx) -> int:
    rows = ctx.store.list_customers(args.search)
    for c in rows:
        ctx.emit({"customer_id": c.customer_id, "name": c.name, "account": c.account,
                  "references": c.reference_count, "created_at": c.created_at},
                 f"{c.customer_id}\t{c.name or ''}\t{c.reference_count} reference(s)")
    if not rows and not ctx.json:
        print("no customers")
    return 0
