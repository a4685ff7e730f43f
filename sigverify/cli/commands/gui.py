"""sigverify gui: the desktop app for clerks and administrators."""

from __future__ import annotations


def add_parser(subparsers, common) -> None:
    p = subparsers.add_parser("gui", parents=[common], help="start the desktop app")
    p.set_defaults(handler=run)


def run(args, ctx) -> int:
    # imported here: the other commands must work on a server without Qt libraries
    from ...gui.app import run as run_app
    from ...gui.context import LaunchOptions

    # --device has a default of "auto" on the command line; only an explicit choice overrides Settings
    device = args.device if args.device != "auto" else None
    return run_app(LaunchOptions(db=args.db, model=args.model, device=device, user=getattr(args, "user", None)))
