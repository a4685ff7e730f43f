"""The command line's exit codes: one table, printed in the README and checked against it by a test."""

from __future__ import annotations

from enum import IntEnum


class ExitCode(IntEnum):
    OK = 0
    BAD_REQUEST = 1
    USAGE = 2
    UNKNOWN_CUSTOMER = 3
    UNREADABLE_IMAGE = 4
    NO_SIGNATURE = 5
    MODEL = 6
    DATABASE = 7
    NOT_ALLOWED = 8
    AUDIT_BROKEN = 9
    SOME_ITEMS_FAILED = 10
    ALL_ITEMS_FAILED = 11
    INTERRUPTED = 130


# what a script or an operator reads in the README (the test compares the README's table with this)
MEANING: dict[ExitCode, str] = {
    ExitCode.OK: "done; for `batch`, every item got a decision",
    ExitCode.BAD_REQUEST: "bad request: a missing file or folder, a bad manifest or pattern, a folder batch "
                          "without `--manifest` or `--pattern` (refused before the run starts)",
    ExitCode.USAGE: "wrong command line (unknown option, missing argument); a bare `sigverify` prints the help",
    ExitCode.UNKNOWN_CUSTOMER: "unknown customer",
    ExitCode.UNREADABLE_IMAGE: "an image cannot be read (not an image, damaged, too large)",
    ExitCode.NO_SIGNATURE: "no signature found on the image (`extract`), or no ink in the crop or box given to "
                           "`verify`; `verify` of a whole cheque judged unsigned is not an error: decision "
                           "refer, exit 0",
    ExitCode.MODEL: "the model file is missing, damaged or does not match its card",
    ExitCode.DATABASE: "database problem: no database at `--db` (create one with `sigverify init`), locked, "
                       "wrong encryption key",
    ExitCode.NOT_ALLOWED: "not logged in, wrong user name or password, account locked or disabled, or the "
                          "role may not do this",
    ExitCode.AUDIT_BROKEN: "`audit verify` found an altered, deleted or reordered record, or a table edited "
                           "around sigverify",
    ExitCode.SOME_ITEMS_FAILED: "`batch` finished, but some items could not be verified (unreadable, blank, "
                                "unknown customer): they are in the report",
    ExitCode.ALL_ITEMS_FAILED: "`batch` finished and no item could be verified: check the source and the "
                               "customer mapping",
    ExitCode.INTERRUPTED: "interrupted (Ctrl+C); `batch --resume` continues the run",
}


def batch_exit_code(items: int, errors: int, interrupted: bool) -> ExitCode:
    if interrupted:
        return ExitCode.INTERRUPTED
    if errors and errors >= items:
        return ExitCode.ALL_ITEMS_FAILED
    return ExitCode.SOME_ITEMS_FAILED if errors else ExitCode.OK


def markdown_table() -> str:
    rows = [f"| {int(code)} | {text} |" for code, text in MEANING.items()]
    return "\n".join(["| exit code | meaning |", "|---|---|", *rows])
