"""sigverify register CUSTOMER_ID IMAGE [IMAGE ...] [--name NAME]"""

from __future__ import annotations

import sys

from ...core.reference_check import check_reference_images
from ..exit_codes import ExitCode


def add_parser(subparsers, common) -> None:
    p = subparsers.add_parser("register", parents=[common], help="register reference signature(s) for a customer")
    p.add_argument("customer_id")
    p.add_argument("images", nargs="+", metavar="IMAGE", help="signature crops or whole cheques")
    p.add_argument("--name", help="the customer's name (new customers)")
    p.add_argument("--account", help="account number, to map image cash letter items to this customer")
    p.set_defaults(handler=run, runs_model=True)  # the CPU/CUDA note belongs here (and in info)


def run(args, ctx) -> int:
    session = ctx.session
    checked = check_reference_images(session.prepare, [(path, path) for path in args.images])
    if checked.refused:
        # every bad file named at once; nothing registered, so a rerun with the good ones is clean
        for refused in checked.refused:
            print(f"error: {refused.name}: {refused.reason}", file=sys.stderr)
        print(f"nothing registered: {len(checked.refused)} of {len(args.images)} image(s) cannot be used; "
              "replace them or leave them out and run again", file=sys.stderr)
        unreadable = any(r.unreadable for r in checked.refused)
        return ExitCode.UNREADABLE_IMAGE if unreadable else ExitCode.NO_SIGNATURE
    result = session.register(args.customer_id, checked.prepared, name=args.name)
    if args.account:
        ctx.session.update_customer(args.customer_id, account=args.account)  # guarded and audited
    ctx.emit(
        {"customer_id": result.customer_id, "reference_ids": result.reference_ids, "files": result.files,
         "boxes": [list(b) if b else None for b in result.boxes], "model": ctx.session.model_version},
        f"registered {len(result.reference_ids)} reference signature(s) for {result.customer_id}",
    )
    return 0
