"""What ``kiosk outbox``'s subcommands do (the parser is in :mod:`kiosk.commands.outbox`).

Subcommands: ``status`` (counts per state, age of the oldest undelivered record, last sync, export and
acknowledgement), ``list`` (records, optionally of one state), ``sync`` (one delivery pass now, with
progress), ``retry`` (dead records back to pending), ``export DIR`` (a sealed bundle for a USB stick) and
``ack FILE`` (apply the server's signed acknowledgement of a bundle). They work while the kiosk runs: the
outbox is shared safely between processes.

Exit status 0 on success, 1 when the command could not do its job (the message says why), 2 for a config
or usage problem.
"""

from __future__ import annotations

import argparse
import datetime
import json
import sys
import time
from collections import Counter
from collections.abc import Callable

from kiosk.assembly import ingest_client, kiosk_identity, open_outbox
from kiosk.cli import EXIT_FAILED, EXIT_OK, EXIT_USAGE
from kiosk.config import Config, load_config
from kiosk.outbox import (
    DEAD,
    META_LAST_ACK,
    META_LAST_EXPORT,
    META_LAST_SYNC,
    MIB,
    PENDING,
    SENDING,
    STATES,
    Outbox,
    OutboxError,
    OutboxItem,
)
from kiosk.sealing import IdentityError


def run(action: str, args: argparse.Namespace) -> int:
    """Load the config, open the outbox, run ``action``, and turn outbox errors into one clear line.

    Args:
        action: The subcommand (``status``, ``list``, ``sync``, ``retry``, ``export``, ``ack``).
        args: The parsed command line.
    """
    command = ACTIONS[action]
    config = load_config(args.config)
    try:
        with open_outbox(config) as outbox:
            return command(args, config, outbox)
    except OutboxError as exc:
        print(f"kiosk outbox: {exc}", file=sys.stderr)
        return EXIT_FAILED


# -- status and list --------------------------------------------------------------------------------------


def _status(args: argparse.Namespace, config: Config, outbox: Outbox) -> int:
    counts = outbox.counts()
    age = outbox.oldest_pending_age()
    room = outbox.room()
    report = {
        "outbox": str(outbox.path),
        "counts": counts,
        "room": {
            "accepts_new_session": room.accepts_new_session,
            "reason": room.reason or None,
            "used_bytes": room.used_bytes,
            "limit_bytes": room.limit_bytes,
            "free_bytes": room.free_bytes,
        },
        "oldest_pending_age_s": age,
        "next_attempt_at": _iso(outbox.next_due()),
        "last_sync": _meta_json(outbox, META_LAST_SYNC),
        "last_export": _meta_json(outbox, META_LAST_EXPORT),
        "last_ack": _meta_json(outbox, META_LAST_ACK),
    }
    if args.json:
        print(json.dumps(report, indent=2))
        return EXIT_OK
    print(f"outbox: {outbox.path}")
    print("  " + "   ".join(f"{state}: {counts[state]}" for state in STATES))
    if age is None:
        print("  nothing waiting to be delivered")
    else:
        print(f"  oldest waiting record: {_duration(age)} old")
    if report["next_attempt_at"] and counts[PENDING]:
        print(f"  next attempt: {report['next_attempt_at']}")
    print(f"  last sync: {_describe_sync(report['last_sync'])}")
    if report["last_export"]:
        export = report["last_export"]
        print(f"  last export: {export.get('at')}, {export.get('records')} record(s) to {export.get('file')}")
    if report["last_ack"]:
        ack = report["last_ack"]
        print(f"  last acknowledgement: {ack.get('at')}, {ack.get('sent')} record(s) marked sent")
    if counts[DEAD]:
        print(f"  {counts[DEAD]} record(s) were refused by the server: see `kiosk outbox list --state dead`")
    limit = "no limit" if room.limit_bytes is None else f"limit {room.limit_bytes / MIB:.1f} MiB"
    print(f"  storage: {room.used_bytes / MIB:.1f} MiB used ({limit}), {room.free_bytes / MIB:.1f} MiB free")
    if not room.accepts_new_session:
        print(f"  NEW SESSIONS REFUSED: {room.reason}")
    return EXIT_OK


def _list(args: argparse.Namespace, config: Config, outbox: Outbox) -> int:
    items = outbox.items(args.state, limit=args.limit)
    if args.json:
        print(json.dumps([_item_json(item) for item in items], indent=2))
        return EXIT_OK
    if not items:
        print("no records" + (f" in state {args.state}" if args.state else ""))
        return EXIT_OK
    print(f"{'record id':36}  {'state':7}  {'tries':>5}  {'enqueued (UTC)':20}  {'size':>8}  last error")
    for item in items:
        print(
            f"{item.record_id:36}  {item.state:7}  {item.attempts:>5}  {_iso(item.created):20}  "
            f"{item.size:>8}  {item.last_error or ''}"
        )
    return EXIT_OK


# -- sync and retry ---------------------------------------------------------------------------------------


def _sync(args: argparse.Namespace, config: Config, outbox: Outbox) -> int:
    from kiosk.config import ConfigError
    from kiosk.sync import sync_once

    waiting = outbox.counts()[PENDING]
    if not waiting:
        print("nothing to send")
        return EXIT_OK
    try:
        client = ingest_client(config)
    except ConfigError as exc:
        print(f"kiosk outbox: cannot reach the server: {exc}", file=sys.stderr)
        return EXIT_USAGE
    print(f"sending {waiting} record(s) to {config.server.url} ...", file=sys.stderr)
    try:
        report = sync_once(outbox, client, progress=_progress_printer("delivered"))
    finally:
        client.close()
    outbox.set_meta(
        META_LAST_SYNC,
        json.dumps(
            {
                "at": _iso(time.time()),
                "sent": report.sent,
                "retried": report.retried,
                "dead": report.dead,
                "held": report.held,
                "error": report.error,
                "by": "cli",
            }
        ),
    )
    print(f"sent {report.sent}, refused {report.dead}, still waiting {outbox.counts()[PENDING]}")
    if report.held:
        print(f"the server refused this kiosk's credentials: {report.error}", file=sys.stderr)
        return EXIT_FAILED
    if report.error:
        print(f"stopped: {report.error} (the records stay queued and are retried)", file=sys.stderr)
        return EXIT_FAILED
    return EXIT_OK


def _retry(args: argparse.Namespace, config: Config, outbox: Outbox) -> int:
    if not args.record_ids:
        moved = outbox.retry_dead()
        print(f"{moved} dead record(s) back in the queue" if moved else "no dead records")
        return EXIT_OK
    not_dead = [rid for rid in args.record_ids if (item := outbox.get(rid)) is None or item.state != DEAD]
    moved = outbox.retry_dead([rid for rid in args.record_ids if rid not in not_dead])
    print(f"{moved} dead record(s) back in the queue")
    for rid in not_dead:
        item = outbox.get(rid)
        print(
            f"  {rid}: {'not in the outbox' if item is None else f'is {item.state}, not dead'}",
            file=sys.stderr,
        )
    return EXIT_FAILED if not_dead else EXIT_OK


# -- USB export and acknowledgement -----------------------------------------------------------------------


def _export(args: argparse.Namespace, config: Config, outbox: Outbox) -> int:
    from kiosk.usb_export import export_bundle

    counts = outbox.counts()
    waiting = counts[PENDING] + counts[SENDING] + counts[DEAD]
    if not waiting:
        print("nothing to export: every record was delivered")
        return EXIT_OK
    try:
        identity = kiosk_identity(config, create=False)
    except IdentityError as exc:
        print(f"kiosk outbox: {exc}", file=sys.stderr)
        return EXIT_FAILED
    try:
        path = export_bundle(
            outbox, identity, args.directory, kiosk_id=config.kiosk.id, progress=_progress_printer("exported")
        )
    except OSError as exc:
        print(
            f"kiosk outbox: cannot write the bundle to {args.directory}: {exc.strerror or exc}",
            file=sys.stderr,
        )
        return EXIT_FAILED
    exported = json.loads(outbox.get_meta(META_LAST_EXPORT) or "{}").get("records", "?")
    print(f"exported {exported} record(s) to {path}")
    print(
        "nothing was removed from the kiosk; apply the server's acknowledgement with `kiosk outbox ack FILE`"
    )
    return EXIT_OK


def _ack(args: argparse.Namespace, config: Config, outbox: Outbox) -> int:
    from kiosk.usb_export import AckError, apply_ack

    outcomes: Counter[str] = Counter()
    try:
        sent = apply_ack(
            outbox,
            args.file,
            config.server.ack_verify_key,
            kiosk_id=config.kiosk.id,
            on_record=lambda _record_id, outcome: outcomes.update([outcome]),
        )
    except AckError as exc:
        print(f"kiosk outbox: {exc}", file=sys.stderr)
        return EXIT_FAILED
    print(f"{sent} record(s) acknowledged by the server are now marked sent")
    for outcome, count in sorted(outcomes.items()):
        if outcome != "sent":
            print(f"  {count} {outcome}")
    return EXIT_OK


# -- helpers ----------------------------------------------------------------------------------------------


def _progress_printer(verb: str) -> Callable[[int, int], None]:
    """Progress on stderr: one updating line on a terminal, a line every 10 % otherwise."""
    tty = sys.stderr.isatty()
    last_tenth = [-1]

    def show(done: int, total: int) -> None:
        if tty:
            end = "\n" if done >= total else ""
            print(f"\r{verb} {done}/{total}", end=end, file=sys.stderr, flush=True)
            return
        tenth = done * 10 // max(total, 1)
        if tenth != last_tenth[0] or done >= total:
            last_tenth[0] = tenth
            print(f"{verb} {done}/{total}", file=sys.stderr, flush=True)

    return show


def _item_json(item: OutboxItem) -> dict:
    return {
        "record_id": item.record_id,
        "kiosk_id": item.kiosk_id,
        "state": item.state,
        "attempts": item.attempts,
        "enqueued_at": _iso(item.created),
        "next_attempt_at": _iso(item.next_attempt),
        "last_error": item.last_error,
        "size": item.size,
        "sha256": item.sha256,
        "created_at": item.created_at,
        "sent_at": _iso(item.sent_at),
        "receipt": item.receipt,
    }


def _meta_json(outbox: Outbox, key: str) -> dict | None:
    value = outbox.get_meta(key)
    if value is None:
        return None
    try:
        decoded = json.loads(value)
    except ValueError:
        return {"text": value}
    return decoded if isinstance(decoded, dict) else {"text": value}


def _describe_sync(result: dict | None) -> str:
    if not result:
        return "never"
    if result.get("text"):
        return result["text"]
    words = f"{result.get('at')}: sent {result.get('sent', 0)}, refused {result.get('dead', 0)}"
    if result.get("held"):
        words += f", credentials refused ({result.get('error')})"
    elif result.get("error"):
        words += f", stopped ({result.get('error')})"
    return words


def _iso(seconds: float | None) -> str | None:
    if seconds is None:
        return None
    moment = datetime.datetime.fromtimestamp(seconds, tz=datetime.UTC)
    return moment.isoformat(timespec="seconds").replace("+00:00", "Z")


def _duration(seconds: float) -> str:
    seconds = int(seconds)
    if seconds < 120:
        return f"{seconds} s"
    if seconds < 7200:
        return f"{seconds // 60} min"
    if seconds < 2 * 86400:
        return f"{seconds // 3600} h {seconds % 3600 // 60} min"
    return f"{seconds // 86400} days"


#: Each subcommand's function.
ACTIONS: dict[str, Callable[[argparse.Namespace, Config, Outbox], int]] = {
    "status": _status,
    "list": _list,
    "sync": _sync,
    "retry": _retry,
    "export": _export,
    "ack": _ack,
}
