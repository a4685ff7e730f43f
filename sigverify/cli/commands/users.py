"""sigverify users add NAME --role clerk|administrator | list | passwd NAME | disable NAME | enable NAME

The first user of an empty store needs no login and must be an administrator. New passwords
come from --new-password-file, SIGVERIFY_NEW_PASSWORD, or a prompt (asked twice); never an argument.
"""

from __future__ import annotations

import getpass
import os
import sys

from ...core.security import AuthenticationError, Role
from ..context import read_password_file


def add_parser(subparsers, common) -> None:
    p = subparsers.add_parser("users", help="manage users and roles (administrators)")
    sub = p.add_subparsers(dest="users_command", metavar="ACTION", required=True)
    add = sub.add_parser("add", parents=[common], help="add a user (the first one needs no login)")
    add.add_argument("name")
    add.add_argument("--role", choices=[r.value for r in Role], required=True)
    add.add_argument("--new-password-file", metavar="PATH", help="the new user's password, first line of PATH")
    sub.add_parser("list", parents=[common], help="list users and roles")
    passwd = sub.add_parser("passwd", parents=[common], help="set a user's password (your own, or any as admin)")
    passwd.add_argument("name")
    passwd.add_argument("--new-password-file", metavar="PATH")
    for action, text in (("disable", "stop a user from logging in"), ("enable", "let a disabled user in again")):
        sub.add_parser(action, parents=[common], help=text).add_argument("name")
    role = sub.add_parser("role", parents=[common], help="change a user's role")
    role.add_argument("name")
    role.add_argument("role", choices=[r.value for r in Role])
    p.set_defaults(handler=run)


def new_password(args, name: str) -> str:
    if getattr(args, "new_password_file", None):
        return read_password_file(args.new_password_file)
    if "SIGVERIFY_NEW_PASSWORD" in os.environ:
        return os.environ["SIGVERIFY_NEW_PASSWORD"]
    if not sys.stdin.isatty():
        raise AuthenticationError("no new password: use --new-password-file or SIGVERIFY_NEW_PASSWORD "
                                  "when there is no terminal to type it in")
    first = getpass.getpass(f"new password for {name}: ")
    if getpass.getpass("again: ") != first:
        raise ValueError("the two passwords differ; nothing was changed")
    return first


def run(args, ctx) -> int:
    return {"add": _add, "list": _list, "passwd": _passwd, "disable": _disable, "enable": _enable,
            "role": _role}[args.users_command](args, ctx)


def _add(args, ctx) -> int:
    actor = ctx.current_user
    password = new_password(args, args.name)
    user = ctx.users.add_user(actor, args.name, password, args.role)  # a bootstrap actor: first user only
    ctx.emit(user.to_dict(), f"added {user.role.value} {user.username}")
    return 0


def _list(args, ctx) -> int:
    rows = ctx.users.list_users(ctx.current_user)
    for user in rows:
        state = " (disabled)" if user.disabled else ""
        ctx.emit(user.to_dict(), f"{user.username}\t{user.role.value}{state}")
    if not rows and not ctx.json:
        print("no users yet")
    return 0


def _passwd(args, ctx) -> int:
    actor = ctx.current_user
    ctx.users.set_password(actor, args.name, new_password(args, args.name))
    ctx.emit({"username": args.name, "password_changed": True}, f"password changed for {args.name}")
    return 0


def _disable(args, ctx) -> int:
    ctx.users.set_disabled(ctx.current_user, args.name, True)
    ctx.emit({"username": args.name, "disabled": True}, f"disabled {args.name}")
    return 0


def _enable(args, ctx) -> int:
    ctx.users.set_disabled(ctx.current_user, args.name, False)
    ctx.emit({"username": args.name, "disabled": False}, f"enabled {args.name}")
    return 0


def _role(args, ctx) -> int:
    ctx.users.set_role(ctx.current_user, args.name, args.role)
    ctx.emit({"username": args.name, "role": args.role}, f"{args.name} is now {args.role}")
    return 0
