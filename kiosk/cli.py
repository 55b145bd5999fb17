"""The ``kiosk`` command line: the composition root of the firmware.

Each command lives in its own module under :mod:`kiosk.commands` and exposes
``register(subparsers)``, which adds its parser and sets ``func(args) -> int``.
A :class:`~kiosk.config.ConfigError` anywhere ends the process with one line on stderr and
status 2, never a traceback.

Building the parser imports every command module, so a command module imports at its top only what its
``register`` needs; the kiosk's parts (assembly, outbox, sealing, maintenance, storage) are imported inside
the command's function. ``kiosk --help`` and ``kiosk run`` up to its first frame do not wait for them, and a
command that opens a SQLite database calls :func:`kiosk.warm_up.import_lean_storage` first.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import sys

from kiosk import __version__
from kiosk.config import ConfigError

#: Command modules, in the order ``kiosk --help`` lists them.
COMMAND_MODULES = (
    "kiosk.commands.selftest",
    "kiosk.commands.keys",
    "kiosk.commands.outbox",
    "kiosk.commands.pin",
    "kiosk.commands.services",
    "kiosk.commands.run",
)

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2


def build_parser() -> argparse.ArgumentParser:
    """The full argument parser with every command registered."""
    parser = argparse.ArgumentParser(
        prog="kiosk",
        description="Dukcapil self-service pre-registration kiosk.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true", help="log debug messages")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name in COMMAND_MODULES:
        importlib.import_module(name).register(subparsers)
    return parser


def add_config_argument(parser: argparse.ArgumentParser) -> None:
    """The ``--config PATH`` option every command that reads the config shares."""
    parser.add_argument(
        "--config",
        metavar="PATH",
        help="config file (default: $KIOSK_CONFIG, else /etc/dukcapil-kiosk/config.toml, else the defaults)",
    )


def main(argv: list[str] | None = None) -> int:
    """Run the command line and return the exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    # force: python-escpos calls logging.basicConfig() when it is imported (through hal.printer), which
    # would otherwise leave the root logger at WARNING and the kiosk's log without its INFO lines.
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        force=True,
    )
    logging.captureWarnings(True)
    try:
        return int(args.func(args) or 0)
    except ConfigError as exc:
        print(f"kiosk: config error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
