"""``dukcapil-office user-add``: the first admin, and every officer and supervisor after them.

::

    dukcapil-office user-add --db office.sqlite3 --username siti --full-name "Siti Mokodompit" --role officer

The password is asked twice on the terminal, or read from the first line of standard input with
``--password-stdin`` (scripts); it is never an argument (it would show in ``ps`` and the shell history).
"""

from __future__ import annotations

import argparse
import getpass
import secrets
import sys
from pathlib import Path
from typing import Any

from office import db

#: The roles (office.accounts.Role), spelt out so that the CLI loads argon2 only when it adds a user.
ROLES = ("officer", "supervisor", "admin")


def _password(args: argparse.Namespace) -> str | None:
    if args.password_stdin:
        return sys.stdin.readline().rstrip("\n")
    first = getpass.getpass("password: ")
    if first != getpass.getpass("again: "):
        print("the two passwords differ", file=sys.stderr)
        return None
    return first


def _cmd_user_add(args: argparse.Namespace) -> int:
    password = _password(args)
    if password is None:
        return 2
    from office.accounts import AccountError, Accounts

    engine = db.make_engine(args.db)
    try:
        db.migrate(engine)
        user = Accounts(engine).create_user(
            args.username, args.full_name or args.username, args.role, password
        )
    except AccountError as exc:
        print(f"cannot add the user: {exc}", file=sys.stderr)
        return 2
    finally:
        engine.dispose()
    print(f"user {user.username} ({user.role.value}) added")
    return 0


def add_user_command(commands: Any) -> None:
    """Register ``user-add`` on the ``dukcapil-office`` command parser's subcommands."""
    from office.cli import _db_option

    parser = commands.add_parser("user-add", help="add a member of staff for the web pages (counter, fleet)")
    _db_option(parser)
    parser.add_argument("--username", required=True, help="login name (letters, digits, dots)")
    parser.add_argument("--full-name", default="", help="shown on the pages and in the audit")
    parser.add_argument("--role", required=True, choices=ROLES)
    parser.add_argument("--password-stdin", action="store_true", help="read the password from stdin")
    parser.set_defaults(func=_cmd_user_add)


def first_officer(database: str | Path, password_file: Path, username: str = "petugas") -> tuple[str, str]:
    """A counter officer for a lab or the simulator: made once, its password kept in ``password_file`` (0600).

    Returns:
        (user name, password), to print for a newcomer.
    """
    from office.accounts import AccountError, Accounts, Role

    engine = db.make_engine(database)
    try:
        db.migrate(engine)
        accounts = Accounts(engine)
        if not password_file.exists():
            password = secrets.token_urlsafe(9)
            try:
                accounts.create_user(username, "Petugas Loket (simulator)", Role.OFFICER, password)
            except AccountError:  # the account is there but its password file was lost: a new password
                accounts.set_password(username, password)
            password_file.write_text(password + "\n", encoding="ascii")
            password_file.chmod(0o600)
        return username, password_file.read_text(encoding="ascii").strip()
    finally:
        engine.dispose()
