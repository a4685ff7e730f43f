"""sigverify calibrate: thresholds from the bank's own labelled verifications (administrators).

Shows a proposal and changes nothing, unless ``--apply`` (audited with the scores it came from)
or ``--revert`` (puts back what the calibration in force replaced). ``--history`` lists both.
"""

from __future__ import annotations

import sys
from pathlib import Path

from ...core.calibration import DEFAULT_CONFIDENCE, DEFAULT_TARGET
from ...core.calibration_data import LABEL_POLICIES, propose, set_label_policy
from ...core.calibration_history import (
    apply_calibration,
    calibration_history,
    calibration_status,
    revert_calibration,
)
from ...core.calibration_report import report_lines


def add_parser(subparsers, common) -> None:
    p = subparsers.add_parser("calibrate", parents=[common],
                              help="propose thresholds from the bank's own labelled verifications (administrators)")
    p.add_argument("--folder", metavar="ROOT", help="also score ROOT/<customer>/genuine|forged/* (customers "
                   "registered first) through the app's own path")
    p.add_argument("--no-store", action="store_true", help="leave out the store's recorded verifications")
    p.add_argument("--target-far", type=float, default=DEFAULT_TARGET, metavar="RATE",
                   help="false-accept rate allowed at 'match' (default 0.01)")
    p.add_argument("--target-frr", type=float, default=DEFAULT_TARGET, metavar="RATE",
                   help="false-reject rate allowed at 'no match' (default 0.01)")
    p.add_argument("--confidence", type=float, default=DEFAULT_CONFIDENCE,
                   help="confidence with which the targets must hold (default 0.95)")
    p.add_argument("--label-policy", choices=sorted(LABEL_POLICIES), help="which final decisions count as "
                   "labels from now on: supervisor (an administrator decided) or clerk (any); audited")
    action = p.add_mutually_exclusive_group()
    action.add_argument("--apply", action="store_true", help="apply the proposal (audited, revertible)")
    action.add_argument("--revert", action="store_true", help="put back the thresholds the calibration in "
                        "force replaced")
    action.add_argument("--history", action="store_true", help="list applied and reverted calibrations")
    p.set_defaults(handler=run, runs_model=True)  # the CPU/CUDA note belongs here (and in info)


def run(args, ctx) -> int:
    verifier, user = ctx.session, ctx.current_user
    if args.label_policy:
        set_label_policy(verifier.store, user, args.label_policy, verifier.audit)
    if args.history:
        return _history(ctx, verifier)
    if args.revert:
        event = revert_calibration(verifier.store, user, verifier.audit)
        t = verifier.thresholds()
        ctx.emit({"reverted": event.to_dict(), "thresholds": t.to_dict()},
                 f"calibration {event.reverted_id} reverted (audit record {event.audit_id}): match >= "
                 f"{t.accept:.4f}, no match < {t.reject:.4f} (from the {t.source})")
        return 0
    progress = None if ctx.json else _print_progress
    calibration = propose(verifier, user, use_store=not args.no_store,
                          folder=Path(args.folder) if args.folder else None, target_far=args.target_far,
                          target_frr=args.target_frr, confidence=args.confidence, progress=progress)
    for line in calibration.skipped[:20]:
        print(f"skipped {line}", file=sys.stderr)
    applied = apply_calibration(verifier.store, user, calibration, verifier.model_version, verifier.audit) \
        if args.apply else None
    status = calibration_status(verifier.store, verifier.model_version)
    data = {**calibration.to_dict(), "status": status.to_dict(), "applied": applied.to_dict() if applied else None}
    lines = report_lines(calibration)
    if applied:
        lines.append(f"APPLIED (audit record {applied.audit_id}): match >= {applied.thresholds.accept:.4f}, "
                     f"no match < {applied.thresholds.reject:.4f}; undo with `sigverify calibrate --revert`")
    else:
        lines.append("nothing changed: `sigverify calibrate --apply` applies this proposal (audited, revertible)")
    if not status.applies and status.audit_id is not None:
        lines.append(f"note: {status.message}")
    ctx.emit(data, "\n".join(lines))
    return 0


def _print_progress(done: int, total: int) -> None:
    if done == total or done % 25 == 0:
        print(f"scored {done}/{total} files", file=sys.stderr, flush=True)


def _history(ctx, verifier) -> int:
    events = calibration_history(verifier.audit)
    status = calibration_status(verifier.store, verifier.model_version)
    lines = [f"{e.at[:19]} {e.user}: " + (
        f"applied calibration {e.audit_id} for model {e.model_version}: match >= {e.thresholds.accept:.4f}, "
        f"no match < {e.thresholds.reject:.4f}" if e.action == "apply_calibration" else
        f"reverted calibration {e.reverted_id} (record {e.audit_id})") for e in events]
    ctx.emit({"history": [e.to_dict() for e in events], "status": status.to_dict()},
             "\n".join(lines + [status.message]) if lines else f"no calibration yet; {status.message}")
    return 0
