"""``--help`` is the first thing a new user types: it must work for the program and every command."""

from __future__ import annotations

import subprocess
import sys

import pytest

from sigverify.cli.main import build_parser, main


def command_names() -> list[str]:
    parser = build_parser()
    subparsers = next(a for a in parser._actions if a.dest == "command")
    return sorted(subparsers.choices)


def test_program_help_through_the_real_entry_point():
    for args in (["--help"], []):
        result = subprocess.run([sys.executable, "-m", "sigverify", *args], capture_output=True, text=True,
                                timeout=120)
        assert "Traceback" not in result.stderr, result.stderr
        assert "usage: sigverify" in result.stdout and "verify" in result.stdout


@pytest.mark.parametrize("command", command_names())
def test_every_command_help(command, capsys):
    with pytest.raises(SystemExit) as exited:
        main([command, "--help"])
    assert exited.value.code == 0
    assert f"usage: sigverify {command}" in capsys.readouterr().out
