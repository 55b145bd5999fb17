"""``kiosk set-pin``: set the technician PIN that opens maintenance mode.

The PIN is asked twice without echo (or read from standard input with ``--pin-stdin``, for provisioning
scripts), checked (6 to 12 digits, not one digit repeated, not a run such as 123456), and stored only as a
scrypt hash in the data directory. Setting a PIN also lifts any lockout, and the block that 20 wrong PINs in
a row put on the old one (this command is the documented recovery), and is written to the audit log.

Exit status 0 when the PIN was set, 1 when it could not be stored, 2 for bad input or a config problem.
"""

from __future__ import annotations

import argparse
import getpass
import os
import sys
from pathlib import Path

from kiosk.cli import EXIT_FAILED, EXIT_OK, EXIT_USAGE, add_config_argument
from kiosk.config import load_config
from kiosk.warm_up import import_lean_storage

#: The PIN's length in digits, for the help text (kiosk.maintenance.pin's MIN_LENGTH and MAX_LENGTH, which
#: check it; a test keeps them equal). Not imported from there: the maintenance package opens its database
#: library on import, and building the command line must not wait for it (kiosk.cli).
MIN_LENGTH, MAX_LENGTH = 6, 12


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``set-pin`` command."""
    parser = subparsers.add_parser(
        "set-pin",
        help="set the technician PIN for maintenance mode",
        description=f"Set the technician PIN ({MIN_LENGTH} to {MAX_LENGTH} digits) that opens maintenance "
        "mode. It is asked twice without echo and stored only as a scrypt hash in the data directory. "
        "On a kiosk, run it as the kiosk's user: sudo -u kiosk kiosk set-pin",
    )
    add_config_argument(parser)
    parser.add_argument(
        "--pin-stdin",
        action="store_true",
        help="read the PIN from the first line of standard input instead of asking (provisioning scripts)",
    )
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Ask for the PIN, store its hash, clear the lockout and audit it."""
    import_lean_storage()
    from kiosk.maintenance.audit import AuditAction, AuditLog, AuditOutcome
    from kiosk.maintenance.lockout import PinLockout
    from kiosk.maintenance.pin import PinFileError, PinFormatError, TechnicianPin, check_pin_format
    from kiosk.maintenance.store import MaintenanceStore, MaintenanceStoreError

    config = load_config(args.config)
    data_dir = config.data_path
    wrong_user = _wrong_user(data_dir)
    if wrong_user:
        return _fail(wrong_user, EXIT_USAGE)
    try:
        pin = _read_pin_from_stdin() if args.pin_stdin else _ask_pin()
        check_pin_format(pin)
    except PinFormatError as exc:
        return _fail(f"{exc}; the PIN was not changed", EXIT_USAGE)
    except _InputProblem as exc:
        return _fail(str(exc), EXIT_USAGE)
    try:
        TechnicianPin.in_data_dir(data_dir).set(pin)
    except PinFileError as exc:
        return _fail(str(exc), EXIT_FAILED)
    del pin
    try:
        with MaintenanceStore.in_data_dir(data_dir) as store:
            settings = config.maintenance
            PinLockout(
                store, max_failures=settings.max_pin_failures, initial_s=settings.lockout_initial_s
            ).reset()
            AuditLog(store).record(AuditAction.SET_PIN, AuditOutcome.OK, "set from the command line")
    except MaintenanceStoreError as exc:
        print(
            f"kiosk: warning: the PIN is set, but the audit log and lockout could not be updated: {exc}",
            file=sys.stderr,
        )
    print(f"Technician PIN set (stored as a scrypt hash in {data_dir}).")
    return EXIT_OK


class _InputProblem(Exception):
    """The PIN could not be read."""


def _ask_pin() -> str:
    from kiosk.maintenance.pin import check_pin_format

    if not sys.stdin.isatty():
        raise _InputProblem("no terminal to ask the PIN on; pipe it in with --pin-stdin instead")
    try:
        first = getpass.getpass(f"New technician PIN ({MIN_LENGTH}-{MAX_LENGTH} digits): ")
        check_pin_format(first)
        second = getpass.getpass("The same PIN again: ")
    except EOFError:
        raise _InputProblem("no PIN was typed; the PIN was not changed") from None
    if second != first:
        raise _InputProblem("the two PINs differ; the PIN was not changed")
    return first


def _read_pin_from_stdin() -> str:
    line = sys.stdin.readline()
    if not line:
        raise _InputProblem("standard input is empty; the PIN was not changed")
    return line.rstrip("\r\n")


def _wrong_user(data_dir: Path) -> str:
    """Refuse root writing files the kiosk's own user could then not read (the PIN file is mode 0600)."""
    if os.geteuid() != 0:
        return ""
    try:
        owner = data_dir.stat().st_uid
    except OSError:
        return ""
    if owner == 0:
        return ""
    try:
        import pwd

        name = pwd.getpwuid(owner).pw_name
    except (ImportError, KeyError):
        name = str(owner)
    return f"{data_dir} belongs to {name}: run this as that user (sudo -u {name} kiosk set-pin)"


def _fail(message: str, status: int) -> int:
    print(f"kiosk: {message}", file=sys.stderr)
    return status
