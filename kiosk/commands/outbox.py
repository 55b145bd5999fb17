"""``kiosk outbox``: look at and work on the queue of sealed records waiting for the server.

Subcommands: ``status`` (counts per state, age of the oldest undelivered record, last sync, export and
acknowledgement), ``list`` (records, optionally of one state), ``sync`` (one delivery pass now, with
progress), ``retry`` (dead records back to pending), ``export DIR`` (a sealed bundle for a USB stick) and
``ack FILE`` (apply the server's signed acknowledgement of a bundle). They work while the kiosk runs: the
outbox is shared safely between processes.

This module only adds the parser: what each subcommand does is in :mod:`kiosk.commands.outbox_actions`,
imported when one runs, so that building the command line (every command, ``kiosk run`` too) does not wait
for the outbox, the storage library and the sealing keys (kiosk.cli).

Exit status 0 on success, 1 when the command could not do its job (the message says why), 2 for a config
or usage problem.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from pathlib import Path

from kiosk.cli import add_config_argument
from kiosk.warm_up import import_lean_storage

#: The states a record can be in, for ``list --state`` (kiosk.outbox.STATES; a test keeps them equal).
STATES = ("pending", "sending", "sent", "dead")


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``outbox`` command and its subcommands."""
    parser = subparsers.add_parser(
        "outbox",
        help="see and work on the queue of records waiting for the server",
        description="The outbox holds every confirmed record, sealed, until the registry server "
        "acknowledged it.",
    )
    commands = parser.add_subparsers(dest="outbox_command", metavar="SUBCOMMAND", required=True)

    status = commands.add_parser("status", help="counts per state, oldest waiting record, last sync")
    status.add_argument("--json", action="store_true", help="print JSON instead of text")
    status.set_defaults(func=_action("status"))

    listing = commands.add_parser("list", help="list records (oldest first)")
    listing.add_argument("--state", choices=STATES, help="only records in this state")
    listing.add_argument("--limit", type=_positive_int, default=100, help="at most this many (default 100)")
    listing.add_argument("--json", action="store_true", help="print JSON instead of a table")
    listing.set_defaults(func=_action("list"))

    sync = commands.add_parser(
        "sync",
        help="try to deliver every waiting record now",
        description="One delivery pass, now, including records that are waiting for their next attempt.",
    )
    sync.set_defaults(func=_action("sync"))

    retry = commands.add_parser("retry", help="put dead records back in the queue")
    retry.add_argument(
        "record_ids", nargs="*", metavar="ID", help="only these records (default: every dead one)"
    )
    retry.set_defaults(func=_action("retry"))

    export = commands.add_parser(
        "export",
        help="write undelivered records, still sealed, to a bundle in DIR (a USB stick)",
        description="Write every pending and dead record, still sealed, to a signed bundle in DIR. Nothing "
        "is removed from the kiosk: records leave it when the server's acknowledgement is applied with "
        "`kiosk outbox ack`.",
    )
    export.add_argument("directory", metavar="DIR", type=Path, help="where to write (the mounted USB stick)")
    export.set_defaults(func=_action("export"))

    ack = commands.add_parser(
        "ack",
        help="apply the server's acknowledgement file of an exported bundle",
        description="Check the server's signature on FILE ([server] ack_verify_key) and mark the records it "
        "acknowledges as sent (and the ones it refused as dead).",
    )
    ack.add_argument("file", metavar="FILE", type=Path, help="the acknowledgement file (.ack.json)")
    ack.set_defaults(func=_action("ack"))

    for sub in (status, listing, sync, retry, export, ack):
        add_config_argument(sub)


def _action(name: str) -> Callable[[argparse.Namespace], int]:
    """The function of subcommand ``name``: imports the outbox's code when it runs, not before."""

    def run(args: argparse.Namespace) -> int:
        import_lean_storage()
        from kiosk.commands import outbox_actions

        return outbox_actions.run(name, args)

    return run


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 1:
        raise argparse.ArgumentTypeError("must be at least 1")
    return value
