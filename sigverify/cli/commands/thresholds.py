"""sigverify thresholds [--accept A --reject R | --reset]: show or override the decision bands."""

from __future__ import annotations

import sys

from ...core.calibration_history import calibration_status


def add_parser(subparsers, common) -> None:
    p = subparsers.add_parser("thresholds", parents=[common], help="show or set the decision thresholds")
    p.add_argument("--accept", type=float, help="score at or above which a signature matches")
    p.add_argument("--reject", type=float, help="score below which a signature does not match")
    p.add_argument("--reset", action="store_true", help="go back to the model's own thresholds")
    p.set_defaults(handler=run)


def run(args, ctx) -> int:
    session = ctx.session
    if args.reset:
        session.set_thresholds(None, None)
    elif args.accept is not None or args.reject is not None:
        session.set_thresholds(args.accept, args.reject)
    t = session.thresholds()
    ctx.emit(t.to_dict(), f"match >= {t.accept:.3f}; no match < {t.reject:.3f}; refer between (from the {t.source})")
    status = calibration_status(session.store, session.model_version)
    if status.audit_id is not None and not status.applies:
        print(f"note: {status.message}", file=sys.stderr)  # a model update set the calibration aside
    return 0
