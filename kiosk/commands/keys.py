"""``kiosk keys``: create the kiosk's signing key if it has none, and show the public keys.

The technician enrols the printed verify key at the registry server (the ingest server's ``enroll``). The
server's keys are not made here: they come from the config (``[server] public_key`` seals records,
``[server] ack_verify_key`` checks USB acknowledgements). Exit status 0, 1 when the key cannot be created or
read, 2 for a config problem.
"""

from __future__ import annotations

import argparse
import json
import sys

from kiosk.cli import EXIT_FAILED, EXIT_OK, add_config_argument
from kiosk.config import load_config
from kiosk.warm_up import import_lean_storage


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``keys`` command."""
    parser = subparsers.add_parser(
        "keys",
        help="create the kiosk key if missing and show the public keys",
        description="Create this kiosk's Ed25519 signing key in <data_dir>/keys (if it has none) and print "
        "its public verify key, to enrol the kiosk at the registry server. Also says whether the server's "
        "keys are configured.",
    )
    add_config_argument(parser)
    parser.add_argument("--json", action="store_true", help="print JSON instead of text")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Create or load the key and print the public keys."""
    # Here, not at the top: building the command line's parser must not import the kiosk's parts (kiosk.cli).
    import_lean_storage()
    from kiosk.assembly import KEY_DIR
    from kiosk.sealing import KEY_FILE, IdentityError, KioskIdentity

    config = load_config(args.config)
    key_dir = config.data_path / KEY_DIR
    existed = (key_dir / KEY_FILE).exists()
    try:
        identity = KioskIdentity.load_or_create(key_dir)
    except IdentityError as exc:
        print(f"kiosk keys: {exc}", file=sys.stderr)
        return EXIT_FAILED
    server_key_problem = _check_server_key(config.server.public_key)
    if args.json:
        print(
            json.dumps(
                {
                    "kiosk_id": config.kiosk.id,
                    "key_dir": str(key_dir),
                    "created": not existed,
                    "verify_key": identity.verify_key_b64,
                    "server_public_key": config.server.public_key or None,
                    "server_public_key_problem": server_key_problem,
                    "ack_verify_key": config.server.ack_verify_key or None,
                },
                indent=2,
            )
        )
        return EXIT_OK
    if not existed:
        print(f"created a new kiosk key in {key_dir}")
    print(f"kiosk id:          {config.kiosk.id}")
    print(f"kiosk verify key:  {identity.verify_key_b64}")
    print("  (enrol it at the registry server together with the kiosk id)")
    print(f"server public key: {server_key_problem or config.server.public_key}")
    print(f"ack verify key:    {config.server.ack_verify_key or 'not configured ([server] ack_verify_key)'}")
    return EXIT_OK


def _check_server_key(public_key: str) -> str | None:
    """What is wrong with the configured server public key, or None when records can be sealed to it."""
    from kiosk.sealing import SealError, check_server_public_key

    try:
        check_server_public_key(public_key)
    except SealError as exc:
        return str(exc)
    return None
