"""``dukcapil-office``: run the office service and manage its kiosk registry.

One command each (``--help`` on every command lists its options)::

    dukcapil-office keygen --key server.key
    dukcapil-office migrate --db office.sqlite3              # or --db postgresql://office@dbhost/office
    dukcapil-office enroll --db office.sqlite3 --kiosk-id BMT-MODAYAG-01 --verify-key "$(cat kiosk.pub)"
    dukcapil-office rotate --db office.sqlite3 --kiosk-id BMT-MODAYAG-01 --verify-key "$(cat new.pub)"
    dukcapil-office revoke --db office.sqlite3 --kiosk-id BMT-MODAYAG-01 --reason "stolen 2026-12-01"
    dukcapil-office serve --db office.sqlite3 --key server.key --port 8443 [--host 0.0.0.0]
    dukcapil-office import-bundle /media/usb --db office.sqlite3 --key server.key --ack-out /media/usb
    dukcapil-office status --db office.sqlite3
    dukcapil-office user-add --db office.sqlite3 --username siti --full-name "Siti M." --role officer

``--db`` is a SQLite file path or a database URL; ``DUKCAPIL_OFFICE_DB`` and ``DUKCAPIL_OFFICE_KEY`` give
defaults for ``--db`` and ``--key``. ``serve`` applies pending migrations before it listens (``--no-migrate``:
refuse to start unless the schema is current, for deployments that migrate as a separate step).
"""

from __future__ import annotations

import argparse
import getpass
import logging
import os
import secrets
import sys
from pathlib import Path

import sqlalchemy.exc

from kiosk.usb_export import BundleError
from office import db
from office.app import DEFAULT_MAX_BODY, Settings
from office.keys import ServerKeys
from office.store import RegistryError, Store
from office.web.commands import add_user_command

log = logging.getLogger("office")


def _store(args: argparse.Namespace, *, keys: bool = False) -> Store:
    return Store.open(args.db, ServerKeys.load(Path(args.key)) if keys else None)


def _actor(args: argparse.Namespace) -> str:
    return args.actor or os.environ.get("SUDO_USER") or getpass.getuser()


def _cmd_keygen(args: argparse.Namespace) -> int:
    keys = ServerKeys.generate()
    try:
        keys.save(Path(args.key))
    except FileExistsError:
        print(
            f"{args.key} exists: refusing to replace it (records sealed to it would become unreadable)",
            file=sys.stderr,
        )
        return 1
    print(f"server key file written: {args.key} (keep it secret, back it up)")
    print(f"public key (each kiosk's [server] public_key): {keys.box_public}")
    print(f"acknowledgement verify key: {keys.sign_public}")
    return 0


def _cmd_migrate(args: argparse.Namespace) -> int:
    engine = db.make_engine(args.db)
    try:
        before, after = db.migrate(engine, args.revision)
    finally:
        engine.dispose()
    print(f"database at revision {after}" + ("" if before == after else f" (was {before or 'empty'})"))
    return 0


def _cmd_enroll(args: argparse.Namespace) -> int:
    token = args.token or secrets.token_urlsafe(32)
    with _store(args) as store:
        rotate = args.command == "rotate"
        try:
            (store.rotate if rotate else store.enroll)(
                args.kiosk_id, args.verify_key.strip(), token, actor=_actor(args)
            )
        except RegistryError as exc:
            print(f"cannot {args.command} {args.kiosk_id}: {exc}", file=sys.stderr)
            return 2
    print(
        f"kiosk {args.kiosk_id} {'rotated: the old token is refused from now on' if rotate else 'enrolled'}"
    )
    if not args.token:
        print(f"token (put it in the kiosk's [server] token_file): {token}")
    return 0


def _cmd_revoke(args: argparse.Namespace) -> int:
    with _store(args) as store:
        try:
            store.revoke(args.kiosk_id, actor=_actor(args), reason=args.reason)
        except RegistryError as exc:
            print(f"cannot revoke {args.kiosk_id}: {exc}", file=sys.stderr)
            return 2
    print(f"kiosk {args.kiosk_id} revoked: its token is refused from now on")
    return 0


def _cmd_serve(args: argparse.Namespace) -> int:
    from office.server import OfficeServer, ServerFailed, serve_processes

    if bool(args.tls_cert) != bool(args.tls_key):
        print("give both --tls-cert and --tls-key, or neither", file=sys.stderr)
        return 2
    options = {
        "tls_cert": args.tls_cert,
        "tls_key": args.tls_key,
        "limit_concurrency": args.limit_concurrency,
    }
    try:
        settings = Settings(
            database=args.db,
            keys=ServerKeys.load(Path(args.key)),
            max_body=args.max_body,
            db_workers=args.db_workers,
            migrate=not args.no_migrate,
        )
        if args.workers > 1:
            # The first line says where it listens (with --port 0, scripts read the port from it).
            return serve_processes(
                settings,
                args.workers,
                host=args.host,
                port=args.port,
                announce=lambda url: print(f"listening on {url}", flush=True),
                **options,
            )
        server = OfficeServer(settings, host=args.host, port=args.port, **options)
    except (OSError, ValueError) as exc:
        print(f"cannot start the office service: {exc}", file=sys.stderr)
        return 1
    print(f"listening on {server.url}", flush=True)
    try:
        server.serve_forever()
    except ServerFailed as exc:
        print(str(exc), file=sys.stderr)
        return 1
    return 0


def _cmd_import_bundle(args: argparse.Namespace) -> int:
    from office.ingest import import_bundle

    source, ack_out = Path(args.bundle), Path(args.ack_out)
    bundles = sorted(source.glob("*.bundle.tar")) if source.is_dir() else [source]
    if not bundles:
        print(f"no bundle (*.bundle.tar) in {source}", file=sys.stderr)
        return 1
    if len(bundles) > 1 and not ack_out.is_dir():
        print(f"{len(bundles)} bundles in {source}: give a directory as --ack-out", file=sys.stderr)
        return 2
    try:
        store = _store(args, keys=True)
    except (OSError, ValueError) as exc:
        print(f"cannot read the server key: {exc}", file=sys.stderr)
        return 1
    status = 0
    with store:
        for bundle in bundles:
            try:
                result = import_bundle(store, bundle, ack_out)
            except (OSError, BundleError) as exc:
                print(f"cannot import {bundle}: {exc}", file=sys.stderr)
                status = 1
                continue
            print(result.summary())
            status = status or (1 if result.rejected or result.problems else 0)
    return status


def _cmd_status(args: argparse.Namespace) -> int:
    with _store(args) as store:
        rows = store.summary()
    if not rows:
        print("no kiosk enrolled")
    for kiosk_id, state, count, last_heartbeat in rows:
        when = last_heartbeat.isoformat(timespec="seconds") if last_heartbeat else "never"
        print(f"{kiosk_id} ({state}): {count} records, last heartbeat {when}")
    return 0


def _db_option(parser: argparse.ArgumentParser) -> None:
    default = os.environ.get("DUKCAPIL_OFFICE_DB")
    parser.add_argument(
        "--db",
        required=default is None,
        default=default,
        metavar="PATH|URL",
        help="SQLite file or database URL (postgresql://...); default $DUKCAPIL_OFFICE_DB",
    )


def _key_option(parser: argparse.ArgumentParser) -> None:
    default = os.environ.get("DUKCAPIL_OFFICE_KEY")
    parser.add_argument(
        "--key",
        required=default is None,
        default=default,
        metavar="PATH",
        help="server key file (from keygen)",
    )


def _registry_options(parser: argparse.ArgumentParser, *, credentials: bool) -> None:
    _db_option(parser)
    parser.add_argument("--kiosk-id", required=True, metavar="ID")
    if credentials:
        parser.add_argument(
            "--verify-key", required=True, metavar="B64", help="the kiosk's public key (kiosk.pub)"
        )
        parser.add_argument("--token", metavar="T", help="bearer token (default: generate and print one)")
    parser.add_argument("--actor", help="who does this, for the audit (default: the login name)")


def build_parser() -> argparse.ArgumentParser:
    """The command line parser."""
    parser = argparse.ArgumentParser(
        prog="dukcapil-office", description="Run the Dukcapil office service and manage its kiosk registry."
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="log every request")
    parser.add_argument("-q", "--quiet", action="store_true", help="log only problems (not each record)")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    keygen = commands.add_parser("keygen", help="generate the server key file")
    keygen.add_argument("--key", required=True, metavar="PATH", help="key file to create (mode 0600)")
    keygen.set_defaults(func=_cmd_keygen)

    migrate = commands.add_parser("migrate", help="create or upgrade the database schema")
    _db_option(migrate)
    migrate.add_argument("--revision", default="head", help="target revision (default: %(default)s)")
    migrate.set_defaults(func=_cmd_migrate)

    enroll = commands.add_parser(
        "enroll", help="register a kiosk (or give an enrolled one a new key and token)"
    )
    _registry_options(enroll, credentials=True)
    enroll.set_defaults(func=_cmd_enroll)

    rotate = commands.add_parser("rotate", help="give an enrolled kiosk a new key and token")
    _registry_options(rotate, credentials=True)
    rotate.set_defaults(func=_cmd_enroll)

    revoke = commands.add_parser("revoke", help="revoke a kiosk (stolen, retired): its token is refused")
    _registry_options(revoke, credentials=False)
    revoke.add_argument("--reason", default="", help="why, for the audit")
    revoke.set_defaults(func=_cmd_revoke)

    serve = commands.add_parser("serve", help="run the office service (HTTP, or HTTPS with --tls-*)")
    _db_option(serve)
    _key_option(serve)
    serve.add_argument("--host", default="127.0.0.1", help="address to listen on (default: %(default)s)")
    serve.add_argument(
        "--port", type=int, default=8443, help="port (0 = any free port; default: %(default)s)"
    )
    serve.add_argument("--max-body", type=int, default=DEFAULT_MAX_BODY, metavar="BYTES")
    serve.add_argument("--db-workers", type=int, default=16, metavar="N", help="database jobs at once")
    serve.add_argument(
        "--workers", type=int, default=1, metavar="N", help="service processes on the one port (one per core)"
    )
    serve.add_argument("--limit-concurrency", type=int, default=4000, metavar="N", help="connections at once")
    serve.add_argument("--tls-cert", metavar="PEM", help="certificate chain (serve HTTPS)")
    serve.add_argument("--tls-key", metavar="PEM", help="private key of the certificate")
    serve.add_argument(
        "--no-migrate", action="store_true", help="refuse to start unless the schema is current"
    )
    serve.set_defaults(func=_cmd_serve)

    bundle = commands.add_parser("import-bundle", help="import a kiosk's USB bundle and write the ack file")
    bundle.add_argument(
        "bundle", metavar="PATH", help="bundle file from `kiosk outbox export`, or a directory"
    )
    _db_option(bundle)
    _key_option(bundle)
    bundle.add_argument(
        "--ack-out", required=True, metavar="PATH", help="acknowledgement file, or a directory"
    )
    bundle.set_defaults(func=_cmd_import_bundle)

    status = commands.add_parser("status", help="each kiosk's state, records and last heartbeat")
    _db_option(status)
    status.set_defaults(func=_cmd_status)
    add_user_command(commands)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run the command line; returns the exit status."""
    args = build_parser().parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.WARNING if args.quiet else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    if not args.verbose:
        # Alembic says "Context impl SQLiteImpl" and the like at INFO on every start: noise to an operator.
        # The migrations it runs are still logged, by office.db.
        logging.getLogger("alembic").setLevel(logging.WARNING)
    try:
        return args.func(args)
    except db.SchemaOutOfDate as exc:
        print(str(exc), file=sys.stderr)
        return 1
    except sqlalchemy.exc.SQLAlchemyError as exc:
        # An unreachable server, a wrong password, a file in a missing directory: one line, no traceback.
        reason = str(getattr(exc, "orig", None) or exc).strip().splitlines()[0]
        print(f"cannot use the database {args.db}: {reason}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
