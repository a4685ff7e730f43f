"""sigverify verify CUSTOMER_ID IMAGE"""

from __future__ import annotations


def add_parser(subparsers, common) -> None:
    p = subparsers.add_parser("verify", parents=[common], help="verify a signature or cheque against a customer")
    p.add_argument("customer_id")
    p.add_argument("image", help="a signature crop or a whole cheque")
    p.add_argument("--box", type=int, nargs=4, metavar=("X1", "Y1", "X2", "Y2"),
                   help="use this signature box instead of finding it")
    p.set_defaults(handler=run, runs_model=True)  # the CPU/CUDA note belongs here (and in info)


def run(args, ctx) -> int:
    result = ctx.session.verify(args.customer_id, args.image, box=tuple(args.box) if args.box else None)
    t = result.thresholds
    if result.score is None:  # an unsigned cheque: referred to a person, not an error
        ctx.emit(result.to_dict(), f"{result.decision.label}: {result.reason}")
        return 0
    box = f", signature box {list(result.box)}" if result.box else ""
    ctx.emit(result.to_dict(),
             f"{result.decision.label}: score {result.score:.3f} (match >= {t.accept:.3f}, "
             f"no match < {t.reject:.3f}){box}")
    return 0
