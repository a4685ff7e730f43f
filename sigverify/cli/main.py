"""``sigverify`` entry point: parse, dispatch to a command module, turn errors into messages."""

from __future__ import annotations

import argparse
import importlib
import logging
import pkgutil
import sys

from .. import __version__
from ..core.batch import NoCustomerMapping
from ..core.engine import DEVICES
from ..core.imaging import ImageLoadError
from ..core.model_trust import ModelError, ModelMismatchError
from ..core.normalize import NoInkError
from ..core.pipeline import NoSignatureError
from ..core.security import AuthenticationError, ModelNotAllowed, PermissionDenied
from ..core.store import StoreError, UnknownCustomerError
from . import commands
from .context import CliContext
from .exit_codes import ExitCode

# error type -> exit code; the message itself is the exception's text
EXIT_CODES: dict[type, ExitCode] = {
    UnknownCustomerError: ExitCode.UNKNOWN_CUSTOMER,
    ImageLoadError: ExitCode.UNREADABLE_IMAGE,
    NoSignatureError: ExitCode.NO_SIGNATURE,
    NoInkError: ExitCode.NO_SIGNATURE,
    ModelError: ExitCode.MODEL,
    StoreError: ExitCode.DATABASE,
    AuthenticationError: ExitCode.NOT_ALLOWED,  # not logged in, or wrong user name / password
    PermissionDenied: ExitCode.NOT_ALLOWED,  # logged in, but the role may not do this
}

# what a command-line user can do about an error the core words as a fact
REMEDIES: dict[type, str] = {
    ModelMismatchError: "an administrator can accept this exact file with `sigverify model accept PATH`",
    ModelNotAllowed: "an administrator can accept it with `sigverify model accept PATH`, or run without --model",
    NoCustomerMapping: "name the customers with --manifest CSV (file,customer_id) or --pattern REGEX",
}


def error_message(exc: BaseException, text: object = None) -> str:
    """The core's words (``text`` when given), then what to type about it, if the CLI knows."""
    remedy = next((words for kind, words in REMEDIES.items() if isinstance(exc, kind)), None)
    return f"error: {exc if text is None else text}" + (f"\n  {remedy}" if remedy else "")


class RefusePasswordArgument(argparse.Action):
    """``--password`` would otherwise be taken as an abbreviation of ``--password-file``."""

    def __call__(self, parser, namespace, values, option_string=None):
        parser.error("a password is never taken as an argument (shell history, process list): "
                     "use the prompt, --password-file or SIGVERIFY_PASSWORD")


def common_options() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--db", metavar="URL", help="SQLAlchemy database URL, without a password (default: "
                        "$SIGVERIFY_DB or database.conf, else SQLite in the user data folder)")
    common.add_argument("--model", metavar="PATH", help="ONNX model file (default: the bundled model)")
    common.add_argument("--device", choices=DEVICES, default="auto", help="where the model runs (default: auto)")
    common.add_argument("--json", action="store_true", help="one JSON object per result on stdout")
    # never a password argument: it would sit in the shell history and in every process listing
    common.add_argument("--user", metavar="NAME", help="log in as NAME (password prompt, --password-file, "
                        "or SIGVERIFY_PASSWORD); default: SIGVERIFY_USER")
    common.add_argument("--password-file", metavar="PATH", help="read the password from the first line of PATH")
    common.add_argument("--password", nargs="?", action=RefusePasswordArgument, help=argparse.SUPPRESS)
    return common


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="sigverify", description="Offline handwritten-signature verification.")
    parser.add_argument("--version", action="version", version=f"sigverify {__version__}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    common = common_options()
    for module_info in sorted(pkgutil.iter_modules(commands.__path__), key=lambda m: m.name):
        module = importlib.import_module(f"{commands.__name__}.{module_info.name}")
        module.add_parser(subparsers, common)
    return parser


def main(argv: list[str] | None = None) -> int:
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s: %(message)s")
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "handler", None):
        parser.print_help()
        return ExitCode.USAGE
    ctx = CliContext(args)
    try:
        return int(args.handler(args, ctx) or 0)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return ExitCode.INTERRUPTED
    except tuple(EXIT_CODES) as exc:
        print(error_message(exc), file=sys.stderr)
        return EXIT_CODES[next(t for t in EXIT_CODES if isinstance(exc, t))]
    except (KeyError, ValueError, PermissionError) as exc:
        print(error_message(exc, exc.args[0] if exc.args else exc), file=sys.stderr)
        return ExitCode.BAD_REQUEST


if __name__ == "__main__":
    sys.exit(main())
