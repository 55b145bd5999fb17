"""Reference ingest server: what kiosks deliver their sealed records to, and what the tests run against.

One command each (``--help`` on every command lists its options)::

    python scripts/ingest_server.py keygen --key server.key
    python scripts/ingest_server.py enroll --db ingest.db --kiosk-id BMT-MODAYAG-01 \\
        --verify-key "$(cat kiosk.pub)" --token "$TOKEN"
    python scripts/ingest_server.py serve --db ingest.db --key server.key --port 8443 \\
        [--host 0.0.0.0] [--tls-cert cert.pem --tls-key key.pem]
    python scripts/ingest_server.py import-bundle /media/usb --db ingest.db --key server.key \\
        --ack-out /media/usb
    python scripts/ingest_server.py status --db ingest.db

``keygen`` writes the server's key file (mode 0600, never overwritten): a Curve25519 pair the kiosks seal
records to and an Ed25519 pair that signs acknowledgement files. It prints the two public keys: the first
goes into each kiosk's ``[server] public_key``, the second
verifies delivery receipts and USB acknowledgements (``[server] ack_verify_key``).

Protocol (see the design guide, "Ingest protocol"):

- ``POST /v1/records``: body = sealed blob; headers ``Authorization: Bearer <token>``,
  ``Idempotency-Key: "<record uuid>"``, ``X-Kiosk-Id``, ``X-Record-SHA256`` (hex of the body).
  401 unknown token, 403 token of another kiosk, 411 no Content-Length, 413 body over the limit,
  400 malformed (headers, hash mismatch, unreadable box), 422 signature or record not the kiosk's or the key
  reused for another record, 201 + the signed receipt (:mod:`kiosk.protocol`: ``record_id``, ``kiosk_id``,
  ``sha256``, ``receipt_id``, ``received_at``, ``signature`` by the acknowledgement key) for a new record,
  200 + the original receipt for a repeat with the same key and hash. With ``Expect: 100-continue`` (the
  kiosk sends it with every record body) a refusal that the headers alone decide (401, 403, 400 for the
  headers, 411, 413) is the answer instead of "100 Continue": the kiosk reads it before sending a byte of
  the body. Without it, such a refusal is followed by a lingering close, so that the answer is not lost to a
  reset.
- ``GET /v1/health``: ``{"status": "ok", ...}``; with the kiosk's headers it also says whether its
  credentials are accepted.
- ``POST /v1/heartbeat``: a JSON object (the kiosk's health snapshot), stored as it came.

Storage is one SQLite file (WAL, ``synchronous=FULL``: a receipt is only sent once the record is on disk).
Records are stored still sealed; :meth:`IngestStore.records` opens them with the server key for whoever
needs the content (the tests, an export to the registry). Kiosk tokens are stored as SHA-256 digests.
"""

from __future__ import annotations

import argparse
import base64
import binascii
import contextlib
import dataclasses
import datetime
import hashlib
import json
import logging
import os
import re
import secrets
import socket
import sqlite3
import ssl
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import nacl.signing

from kiosk.protocol import PROBLEM_CONTENT_TYPE, Problem, parse_idempotency_key, sign_receipt
from kiosk.records import Record
from kiosk.sealing import (
    BoxUnreadable,
    SealError,
    generate_server_keypair,
    generate_signing_keypair,
    open_sealed_record,
)
from kiosk.usb_export import BundleError, read_bundle, write_ack

log = logging.getLogger("ingest_server")

#: Largest record body accepted (a 200 KB photo + signature PNG + pen samples fit many times over).
DEFAULT_MAX_BODY = 8 * 1024 * 1024
#: Largest heartbeat snapshot accepted.
MAX_HEARTBEAT_BODY = 64 * 1024
#: Seconds a connection may sit idle or stall mid-request before the server drops it.
CONNECTION_TIMEOUT_S = 30.0
#: After an early answer (411, 413), how long and how much of the unread body is drained before closing.
LINGER_S = 2.0
LINGER_MAX_BYTES = DEFAULT_MAX_BODY

_KIOSK_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
_SHA256_HEX = re.compile(r"^[0-9a-f]{64}$")
_MIN_TOKEN_LENGTH = 16
_KEY_REUSED = "this Idempotency-Key was already used for another record"


def utc_now(clock: Callable[[], float]) -> str:
    """``clock()`` as RFC 3339 UTC with milliseconds."""
    moment = datetime.datetime.fromtimestamp(clock(), tz=datetime.UTC)
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


# --------------------------------------------------------------------------------------------------- keys


@dataclass(frozen=True, repr=False)
class ServerKeys:
    """The server's key file: the sealed-box pair kiosks seal to and the pair that signs acknowledgements."""

    box_public: str
    box_secret: str
    sign_public: str
    sign_secret: str

    def __repr__(self) -> str:
        return f"ServerKeys(box_public={self.box_public!r}, sign_public={self.sign_public!r})"

    @classmethod
    def generate(cls) -> ServerKeys:
        """A fresh set of keys."""
        box_public, box_secret = generate_server_keypair()
        sign_public, sign_secret = generate_signing_keypair()
        return cls(box_public, box_secret, sign_public, sign_secret)

    def save(self, path: Path) -> None:
        """Write the key file with mode 0600; an existing file is never replaced.

        Raises:
            FileExistsError: there is already a key file at ``path`` (replacing it would make every
                record sealed to it unreadable).
        """
        data = json.dumps({"version": 1, **dataclasses.asdict(self)}, indent=2).encode() + b"\n"
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            os.write(fd, data)
            os.fsync(fd)
        finally:
            os.close(fd)

    @classmethod
    def load(cls, path: Path) -> ServerKeys:
        """Read a key file written by :meth:`save`.

        Raises:
            ValueError: the file is not a server key file; the message says why.
            OSError: the file cannot be read.
        """
        try:
            data = json.loads(Path(path).read_bytes())
            keys = cls(*(data[name] for name in ("box_public", "box_secret", "sign_public", "sign_secret")))
        except (ValueError, KeyError, TypeError) as exc:
            raise ValueError(f"{path} is not a server key file ({exc})") from None
        for name, value in dataclasses.asdict(keys).items():
            if _b64_length(value) != 32:
                raise ValueError(f"{path}: {name} is not a 32-byte base64 key")
        return keys


def _b64_length(value: object) -> int:
    try:
        return len(base64.b64decode(str(value), validate=True))
    except (binascii.Error, ValueError):
        return -1


# -------------------------------------------------------------------------------------------------- store


@dataclass(frozen=True)
class Kiosk:
    """An enrolled kiosk."""

    kiosk_id: str
    verify_key: str


@dataclass(frozen=True)
class StoredRecord:
    """A record row without its content."""

    record_id: str
    kiosk_id: str
    sha256: str
    receipt: str
    source: str


@dataclass(frozen=True)
class ReceivedRecord:
    """A record as the server received it, opened with the server key."""

    record_id: str
    kiosk_id: str
    received_at: str
    receipt_id: str
    source: str
    sha256: str
    record: Record


@dataclass(frozen=True)
class Heartbeat:
    """One health snapshot a kiosk sent."""

    kiosk_id: str
    received_at: str
    snapshot: dict[str, Any]


class KeyConflict(Exception):
    """The Idempotency-Key is already stored for another body or another kiosk."""


_SCHEMA = """
CREATE TABLE IF NOT EXISTS kiosks (
    kiosk_id TEXT PRIMARY KEY,
    verify_key TEXT NOT NULL,
    token_sha256 TEXT NOT NULL UNIQUE,
    enrolled_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS records (
    record_id TEXT NOT NULL,
    kiosk_id TEXT NOT NULL REFERENCES kiosks(kiosk_id),
    sha256 TEXT NOT NULL,
    blob BLOB NOT NULL,
    received_at TEXT NOT NULL,
    receipt_id TEXT NOT NULL,
    receipt TEXT NOT NULL,
    source TEXT NOT NULL,
    -- Keyed by (kiosk, record): another kiosk posting the same id first cannot block the genuine record.
    PRIMARY KEY (kiosk_id, record_id)
);
CREATE TABLE IF NOT EXISTS heartbeats (
    id INTEGER PRIMARY KEY,
    kiosk_id TEXT NOT NULL,
    received_at TEXT NOT NULL,
    snapshot TEXT NOT NULL
);
"""


class IngestStore:
    """The server's SQLite file: enrolled kiosks, received records (still sealed), heartbeats.

    One connection shared by the request threads behind a lock: each write is one short transaction, and
    a single writer is what SQLite does best.
    """

    def __init__(self, path: Path | str, *, clock: Callable[[], float] = time.time) -> None:
        self.path = Path(path)
        self._clock = clock
        self._lock = threading.Lock()
        self._db = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=FULL")
        self._db.execute("PRAGMA foreign_keys=ON")
        self._db.executescript(_SCHEMA)

    def close(self) -> None:
        """Close the database (idempotent)."""
        with self._lock:
            self._db.close()

    @contextlib.contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                yield self._db
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")

    def _query(self, sql: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        with self._lock:
            return self._db.execute(sql, params).fetchall()

    # kiosks

    def enroll(self, kiosk_id: str, verify_key: str, token: str) -> None:
        """Register a kiosk (or replace its key and token).

        Raises:
            ValueError: a malformed kiosk id, verify key or token, or a token already given to another kiosk.
        """
        if not _KIOSK_ID.match(kiosk_id):
            raise ValueError(f"kiosk id {kiosk_id!r} is not valid (letters, digits, . _ -; up to 64)")
        if _b64_length(verify_key) != 32:
            raise ValueError("the verify key is not a 32-byte base64 Ed25519 key (see `kiosk keys`)")
        if len(token) < _MIN_TOKEN_LENGTH:
            raise ValueError(f"the token must have at least {_MIN_TOKEN_LENGTH} characters")
        digest = _token_digest(token)
        with self._transaction() as db:
            owner = db.execute("SELECT kiosk_id FROM kiosks WHERE token_sha256 = ?", (digest,)).fetchone()
            if owner and owner[0] != kiosk_id:
                raise ValueError("this token is already given to another kiosk")
            db.execute(
                "INSERT INTO kiosks (kiosk_id, verify_key, token_sha256, enrolled_at) VALUES (?, ?, ?, ?) "
                "ON CONFLICT(kiosk_id) DO UPDATE SET verify_key = excluded.verify_key, "
                "token_sha256 = excluded.token_sha256, enrolled_at = excluded.enrolled_at",
                (kiosk_id, verify_key, digest, utc_now(self._clock)),
            )

    def kiosk_for_token(self, token: str) -> Kiosk | None:
        """The kiosk this bearer token belongs to, if any."""
        rows = self._query(
            "SELECT kiosk_id, verify_key FROM kiosks WHERE token_sha256 = ?", (_token_digest(token),)
        )
        return Kiosk(*rows[0]) if rows else None

    def kiosk(self, kiosk_id: str) -> Kiosk | None:
        """The enrolled kiosk with this id, if any."""
        rows = self._query("SELECT kiosk_id, verify_key FROM kiosks WHERE kiosk_id = ?", (kiosk_id,))
        return Kiosk(*rows[0]) if rows else None

    # records

    def find(self, record_id: str, kiosk_id: str | None = None) -> StoredRecord | None:
        """The stored record with this id (of this kiosk, when given; without content), if any."""
        sql = "SELECT record_id, kiosk_id, sha256, receipt, source FROM records WHERE record_id = ?"
        rows = (
            self._query(sql + " AND kiosk_id = ?", (record_id, kiosk_id))
            if kiosk_id
            else self._query(sql + " ORDER BY rowid", (record_id,))
        )
        return StoredRecord(*rows[0]) if rows else None

    def accept(
        self, record_id: str, kiosk_id: str, sha256: str, blob: bytes, source: str, signing_key: str
    ) -> tuple[str, bool]:
        """Store a record unless it is already there; returns ``(signed receipt JSON, created)``.

        The receipt is signed with ``signing_key`` (the acknowledgement key's seed, base64) through
        :func:`kiosk.protocol.sign_receipt`, inside the transaction that stores the record: a kiosk only ever
        holds a receipt for a committed record.

        Raises:
            KeyConflict: this kiosk stored the id with another hash.
        """
        with self._transaction() as db:
            row = db.execute(
                "SELECT sha256, receipt FROM records WHERE kiosk_id = ? AND record_id = ?",
                (kiosk_id, record_id),
            )
            existing = row.fetchone()
            if existing:
                if existing[0] != sha256:
                    raise KeyConflict(record_id)
                return existing[1], False
            received_at = utc_now(self._clock)
            signed = sign_receipt(
                nacl.signing.SigningKey(base64.b64decode(signing_key)),
                record_id=record_id,
                kiosk_id=kiosk_id,
                sha256=sha256,
                received_at=received_at,
            )
            receipt_id, receipt = signed.receipt_id, signed.to_json()
            db.execute(
                "INSERT INTO records (record_id, kiosk_id, sha256, blob, received_at, receipt_id, receipt, "
                "source) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (record_id, kiosk_id, sha256, blob, received_at, receipt_id, receipt, source),
            )
            return receipt, True

    def count(self) -> int:
        """How many records are stored."""
        return self._query("SELECT count(*) FROM records")[0][0]

    def record_ids(self) -> list[str]:
        """Every stored record id, in the order received."""
        return [row[0] for row in self._query("SELECT record_id FROM records ORDER BY rowid")]

    def records(self, box_secret: str) -> list[ReceivedRecord]:
        """Every stored record, opened with the server's secret key, in the order received.

        Raises:
            SealError: a stored blob no longer opens (the key file does not match this database).
        """
        rows = self._query(
            "SELECT r.record_id, r.kiosk_id, r.received_at, r.receipt_id, r.source, r.sha256, r.blob, "
            "k.verify_key FROM records r JOIN kiosks k USING (kiosk_id) ORDER BY r.rowid"
        )
        return [
            ReceivedRecord(*row[:6], record=open_sealed_record(row[6], box_secret, row[7])) for row in rows
        ]

    # heartbeats

    def add_heartbeat(self, kiosk_id: str, snapshot: dict[str, Any]) -> str:
        """Store a health snapshot; returns when it was received."""
        received_at = utc_now(self._clock)
        with self._transaction() as db:
            db.execute(
                "INSERT INTO heartbeats (kiosk_id, received_at, snapshot) VALUES (?, ?, ?)",
                (kiosk_id, received_at, json.dumps(snapshot, sort_keys=True)),
            )
        return received_at

    def heartbeats(self, kiosk_id: str | None = None) -> list[Heartbeat]:
        """Stored snapshots, oldest first, of one kiosk or all."""
        sql = "SELECT kiosk_id, received_at, snapshot FROM heartbeats"
        rows = (
            self._query(sql + " WHERE kiosk_id = ? ORDER BY id", (kiosk_id,))
            if kiosk_id
            else self._query(sql + " ORDER BY id")
        )
        return [Heartbeat(row[0], row[1], json.loads(row[2])) for row in rows]

    def summary(self) -> list[tuple[str, int, str | None]]:
        """Per enrolled kiosk: ``(kiosk_id, records, last heartbeat time)``."""
        return [
            (row[0], row[1], row[2])
            for row in self._query(
                "SELECT k.kiosk_id, (SELECT count(*) FROM records r WHERE r.kiosk_id = k.kiosk_id), "
                "(SELECT max(received_at) FROM heartbeats h WHERE h.kiosk_id = k.kiosk_id) "
                "FROM kiosks k ORDER BY k.kiosk_id"
            )
        ]


def _token_digest(token: str) -> str:
    # Tokens are long random strings: a plain digest keeps them off the disk without a slow KDF.
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()


# ------------------------------------------------------------------------------------------------- ingest


_PROBLEM_KINDS = {
    400: ("malformed", "Malformed request"),
    401: ("unauthorized", "Unknown kiosk"),
    403: ("forbidden", "Kiosk not allowed"),
    404: ("not-found", "No such resource"),
    411: ("length-required", "Content-Length required"),
    413: ("too-large", "Record too large"),
    422: ("key-reused", "Record rejected"),
}


@dataclass(frozen=True)
class Answer:
    """The server's answer to one record: HTTP status, body and its content type."""

    status: int
    body: str
    content_type: str = "application/json"
    detail: str = ""

    @classmethod
    def error(
        cls, status: int, message: str, *, record_id: str | None = None, permanent: bool = False
    ) -> Answer:
        """A rejection as the service's problem document (RFC 9457, :class:`kiosk.protocol.Problem`)."""
        kind, title = _PROBLEM_KINDS.get(status, ("error", "Request refused"))
        problem = Problem(status, kind, title, message, record_id=record_id, permanent=permanent)
        return cls(status, problem.to_json().decode(), PROBLEM_CONTENT_TYPE, message)

    @property
    def accepted(self) -> bool:
        """True for 200 and 201: the record is at the server."""
        return self.status in (HTTPStatus.OK, HTTPStatus.CREATED)


def ingest_record(
    store: IngestStore, keys: ServerKeys, kiosk: Kiosk, record_id: str, sha256: str, blob: bytes, source: str
) -> Answer:
    """Check, open and store one sealed record for an authenticated kiosk (HTTP and USB import share this).

    Every rejection is a problem document naming the record and marked permanent: the record itself is at
    fault, and the kiosk dead-letters it only on this word of the service's.
    """
    rejected: dict[str, Any] = {"record_id": record_id, "permanent": True}
    if hashlib.sha256(blob).hexdigest() != sha256:
        return Answer.error(HTTPStatus.BAD_REQUEST, "X-Record-SHA256 does not match the body", **rejected)
    existing = store.find(record_id, kiosk.kiosk_id)
    if existing is not None:
        # The fast path for a retry after a lost response: no need to open the box again.
        if existing.sha256 == sha256:
            return Answer(HTTPStatus.OK, existing.receipt)
        return Answer.error(
            HTTPStatus.UNPROCESSABLE_ENTITY, "this Idempotency-Key was used for another record", **rejected
        )
    try:
        record = open_sealed_record(blob, keys.box_secret, kiosk.verify_key)
    except BoxUnreadable as exc:
        return Answer.error(HTTPStatus.BAD_REQUEST, f"not a record sealed to this server: {exc}", **rejected)
    except SealError as exc:
        return Answer.error(HTTPStatus.UNPROCESSABLE_ENTITY, f"record rejected: {exc}", **rejected)
    if record.record_id != record_id:
        return Answer.error(
            HTTPStatus.UNPROCESSABLE_ENTITY, "the sealed record's id is not the Idempotency-Key", **rejected
        )
    if record.kiosk_id != kiosk.kiosk_id:
        return Answer.error(
            HTTPStatus.UNPROCESSABLE_ENTITY, "the sealed record belongs to another kiosk", **rejected
        )
    try:
        receipt, created = store.accept(record_id, kiosk.kiosk_id, sha256, blob, source, keys.sign_secret)
    except KeyConflict:
        return Answer.error(
            HTTPStatus.UNPROCESSABLE_ENTITY, "this Idempotency-Key was used for another record", **rejected
        )
    return Answer(HTTPStatus.CREATED if created else HTTPStatus.OK, receipt)


@dataclass(frozen=True)
class ImportResult:
    """What importing one USB bundle did."""

    bundle: Path
    kiosk_id: str
    ack: Path
    #: Records the server now holds (new or already received), acknowledged in the ack file.
    acknowledged: int
    #: Of those, records received for the first time.
    new: int
    #: (record_id, reason) of records refused for good (listed as rejected in the ack file).
    rejected: list[tuple[str, str]]
    #: (record_id, what is wrong) of records missing or damaged in the bundle (neither acknowledged nor
    #: rejected: the kiosk still holds them and sends them later).
    problems: list[tuple[str, str]]

    def summary(self) -> str:
        """One line for the technician."""
        line = (
            f"{self.bundle.name}: kiosk {self.kiosk_id}, {self.acknowledged} record(s) acknowledged "
            f"({self.new} new), {len(self.rejected)} rejected, {len(self.problems)} damaged or missing; "
            f"acknowledgement written to {self.ack}"
        )
        details = [f"  rejected {rid}: {why}" for rid, why in self.rejected]
        details += [f"  damaged {rid}: {why}" for rid, why in self.problems]
        return "\n".join([line, *details])


def import_bundle(store: IngestStore, keys: ServerKeys, bundle_path: Path, ack_out: Path) -> ImportResult:
    """Import a kiosk's USB bundle exactly as HTTP deliveries, and write the signed acknowledgement file.

    Importing the same bundle again stores nothing new and acknowledges the same records with the same
    receipts.

    Args:
        store: the server's database.
        keys: the server's keys (opening records, signing the acknowledgement).
        bundle_path: the bundle file written by ``kiosk outbox export``.
        ack_out: the acknowledgement file to write, or a directory to write it into.

    Raises:
        BundleError: not a bundle, a kiosk that is not enrolled, or a manifest the kiosk did not sign.
        OSError: the bundle cannot be read or the acknowledgement cannot be written.
    """

    def enrolled_key(kiosk_id: str) -> str | None:
        kiosk = store.kiosk(kiosk_id)
        return kiosk.verify_key if kiosk else None

    bundle = read_bundle(bundle_path, enrolled_key)
    kiosk = store.kiosk(bundle.kiosk_id)
    assert kiosk is not None  # read_bundle refuses bundles of kiosks that are not enrolled
    acknowledged: list[tuple[str, str, str]] = []
    rejected: list[tuple[str, str, str]] = []
    new = 0
    for record_id, blob, sha256 in bundle.records:
        answer = ingest_record(store, keys, kiosk, record_id, sha256, blob, "usb")
        if answer.accepted:
            acknowledged.append((record_id, sha256, answer.body))
            new += answer.status == HTTPStatus.CREATED
        else:
            rejected.append((record_id, sha256, answer.detail))
    ack = write_ack(ack_out, bundle, acknowledged, keys.sign_secret, rejected=rejected)
    log.info(
        "bundle %s from %s: %d acknowledged, %d rejected",
        bundle.bundle_id,
        kiosk.kiosk_id,
        len(acknowledged),
        len(rejected),
    )
    return ImportResult(
        bundle=Path(bundle_path),
        kiosk_id=kiosk.kiosk_id,
        ack=ack,
        acknowledged=len(acknowledged),
        new=new,
        rejected=[(rid, why) for rid, _sha, why in rejected],
        problems=list(bundle.problems),
    )


# --------------------------------------------------------------------------------------------------- HTTP


class IngestHandler(BaseHTTPRequestHandler):
    """One keep-alive connection from a kiosk."""

    protocol_version = "HTTP/1.1"
    server_version = "DukcapilIngest/1"
    timeout = CONNECTION_TIMEOUT_S
    # Headers and body go out in two writes: without TCP_NODELAY, Nagle + delayed ACK stall each answer 40 ms.
    disable_nagle_algorithm = True
    server: IngestServer

    #: Set when an answer went out before the request body was read (411, 413, 400).
    _body_unread = False

    def setup(self) -> None:
        super().setup()
        # TLS handshakes happen here, on the connection's own thread, so a slow client never holds up accept.
        if isinstance(self.request, ssl.SSLSocket):
            self.request.do_handshake()

    def finish(self) -> None:
        super().finish()
        if self._body_unread:
            self._linger()

    def _linger(self) -> None:
        """Lingering close after an early answer: read (and drop) what the client is still sending.

        Closing a socket with unread data makes the kernel reset the connection, and the reset can reach the
        client before it has read the answer, which it then never sees ("broken pipe" instead of 411).
        """
        sock = self.connection
        with contextlib.suppress(OSError):
            if not isinstance(sock, ssl.SSLSocket):
                sock.shutdown(socket.SHUT_WR)
            sock.settimeout(LINGER_S)
            drained = 0
            while drained < LINGER_MAX_BYTES and (chunk := sock.recv(65536)):
                drained += len(chunk)

    def log_message(self, format: str, *args: Any) -> None:
        log.debug("%s %s", self.address_string(), format % args)

    def do_GET(self) -> None:
        if self.path != "/v1/health":
            self._reply(Answer.error(HTTPStatus.NOT_FOUND, f"no such resource: {self.path}"))
            return
        body: dict[str, Any] = {"status": "ok", "time": utc_now(self.server.clock)}
        if self.headers.get("Authorization"):
            kiosk, problem = self._authenticate()
            body["credentials"] = "accepted" if kiosk else "rejected"
            if problem:
                body["detail"] = problem.detail
        self._reply(Answer(HTTPStatus.OK, json.dumps(body)))

    def do_POST(self) -> None:
        if self.path == "/v1/records":
            self._post_record()
        elif self.path == "/v1/heartbeat":
            self._post_heartbeat()
        else:
            self.close_connection = True
            self._reply(Answer.error(HTTPStatus.NOT_FOUND, f"no such resource: {self.path}"))

    def handle_expect_100(self) -> bool:
        """Answer "100 Continue" only to a request the service will read (``Expect: 100-continue``).

        A record refused from its headers alone (credentials, a malformed key, a body over the limit) gets its
        answer instead, before the client sent a byte of its body: the client reads it for certain, instead
        of meeting a reset mid-upload.
        """
        if self.command == "POST" and self.path == "/v1/records":
            _kiosk, record_id, _sha256, problem = self._record_headers()
            if problem is None:
                problem = self._length_problem(self.server.max_body, record_id)
            if problem is not None:
                self.close_connection = True
                self._reply(problem)
                return False
        return super().handle_expect_100()

    def _record_headers(self) -> tuple[Kiosk | None, str | None, str, Answer | None]:
        """The kiosk, record id and hash a ``POST /v1/records`` names, or the answer refusing it."""
        kiosk, problem = self._authenticate()
        record_id = parse_idempotency_key(self.headers.get("Idempotency-Key"))
        sha256 = (self.headers.get("X-Record-SHA256") or "").strip().lower()
        if problem is None:
            if record_id is None:
                problem = Answer.error(HTTPStatus.BAD_REQUEST, 'Idempotency-Key must be "<record uuid>"')
            elif not _SHA256_HEX.match(sha256):
                problem = Answer.error(HTTPStatus.BAD_REQUEST, "X-Record-SHA256 must be 64 hex digits")
        return kiosk, record_id, sha256, problem

    def _post_record(self) -> None:
        kiosk, record_id, sha256, problem = self._record_headers()
        body = None if problem else self._read_body(self.server.max_body, record_id)
        if problem or body is None:
            # The body was not read: the connection cannot carry another request.
            self.close_connection = True
            if problem:
                self._body_unread = True
                self._reply(problem)
            return
        assert kiosk is not None and record_id is not None
        answer = ingest_record(self.server.store, self.server.keys, kiosk, record_id, sha256, body, "http")
        if answer.status == HTTPStatus.CREATED:
            log.info("record %s from %s stored", record_id, kiosk.kiosk_id)
        elif not answer.accepted:
            log.warning("record %s from %s rejected: %s", record_id, kiosk.kiosk_id, answer.body)
        self._reply(answer)

    def _post_heartbeat(self) -> None:
        kiosk, problem = self._authenticate()
        body = None if problem else self._read_body(MAX_HEARTBEAT_BODY)
        if problem or body is None:
            self.close_connection = True
            if problem:
                self._reply(problem)
            return
        assert kiosk is not None
        try:
            snapshot = json.loads(body)
        except ValueError:
            snapshot = None
        if not isinstance(snapshot, dict):
            self._reply(Answer.error(HTTPStatus.BAD_REQUEST, "a heartbeat is a JSON object"))
            return
        received_at = self.server.store.add_heartbeat(kiosk.kiosk_id, snapshot)
        self._reply(Answer(HTTPStatus.OK, json.dumps({"received_at": received_at})))

    def _authenticate(self) -> tuple[Kiosk | None, Answer | None]:
        """The kiosk behind the bearer token and X-Kiosk-Id, or the 401/403 answer."""
        scheme, _, token = (self.headers.get("Authorization") or "").partition(" ")
        kiosk = self.server.store.kiosk_for_token(token.strip()) if scheme.lower() == "bearer" else None
        if kiosk is None:
            return None, Answer.error(HTTPStatus.UNAUTHORIZED, "unknown kiosk token")
        if self.headers.get("X-Kiosk-Id") != kiosk.kiosk_id:
            return None, Answer.error(
                HTTPStatus.FORBIDDEN, "this token belongs to another kiosk than X-Kiosk-Id"
            )
        return kiosk, None

    def _read_body(self, limit: int, record_id: str | None = None) -> bytes | None:
        """The request body, or None after answering 411/413/400 (or when the client went away)."""
        # Until the body is read, the connection cannot carry another request: an early answer closes it.
        asked_to_close, self.close_connection = self.close_connection, True
        if self.headers.get("Transfer-Encoding"):
            self._reply(Answer.error(HTTPStatus.LENGTH_REQUIRED, "send the body with a Content-Length"))
            self._body_unread = True
            return None
        problem = self._length_problem(limit, record_id)
        if problem is not None:
            self._reply(problem)
            self._body_unread = True
            return None
        length = int(self.headers["Content-Length"])
        body = self.rfile.read(length)
        if len(body) != length:
            log.debug("client went away after %d of %d bytes", len(body), length)
            return None
        self.close_connection = asked_to_close
        return body

    def _length_problem(self, limit: int, record_id: str | None) -> Answer | None:
        """The answer refusing the request's Content-Length (missing, negative, over ``limit``), or None."""
        try:
            length = int(self.headers.get("Content-Length", ""))
        except ValueError:
            return Answer.error(HTTPStatus.LENGTH_REQUIRED, "send the body with a Content-Length")
        if length < 0:
            return Answer.error(HTTPStatus.BAD_REQUEST, "negative Content-Length")
        if length > limit:
            return Answer.error(
                HTTPStatus.REQUEST_ENTITY_TOO_LARGE,
                f"body over {limit} bytes",
                record_id=record_id,
                permanent=record_id is not None,
            )
        return None

    def _reply(self, answer: Answer) -> None:
        data = answer.body.encode()
        self.send_response(answer.status)
        self.send_header("Content-Type", answer.content_type)
        self.send_header("Content-Length", str(len(data)))
        if answer.status == HTTPStatus.UNAUTHORIZED:
            self.send_header("WWW-Authenticate", 'Bearer realm="dukcapil-ingest"')
        if self.close_connection:
            self.send_header("Connection", "close")
        self.end_headers()
        self.wfile.write(data)


class IngestServer(ThreadingHTTPServer):
    """The ingest server: a thread per connection over one :class:`IngestStore`."""

    daemon_threads = True
    allow_reuse_address = True

    def __init__(
        self,
        address: tuple[str, int],
        store: IngestStore,
        keys: ServerKeys,
        *,
        max_body: int = DEFAULT_MAX_BODY,
        ssl_context: ssl.SSLContext | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        super().__init__(address, IngestHandler)
        self.store = store
        self.keys = keys
        self.max_body = max_body
        self.clock = clock
        self.scheme = "https" if ssl_context else "http"
        if ssl_context is not None:
            self.socket = ssl_context.wrap_socket(
                self.socket, server_side=True, do_handshake_on_connect=False
            )

    @property
    def port(self) -> int:
        return self.server_address[1]

    @property
    def url(self) -> str:
        """Base URL of the server, e.g. ``http://127.0.0.1:41234``."""
        host = self.server_address[0]
        return f"{self.scheme}://{host}:{self.port}"

    def records(self) -> list[ReceivedRecord]:
        """Every received record, opened (see :meth:`IngestStore.records`)."""
        return self.store.records(self.keys.box_secret)

    def handle_error(self, request: Any, client_address: Any) -> None:
        # A kiosk that vanished mid-request (or a fault proxy doing it on purpose) is normal here.
        exc = sys.exc_info()[1]
        log.debug("connection from %s ended: %r", client_address, exc)

    @contextlib.contextmanager
    def running(self) -> Iterator[IngestServer]:
        """Serve on a background thread for the duration of the ``with`` block, then close."""
        # A short poll interval so that shutdown() at the end of the block returns at once.
        thread = threading.Thread(target=self.serve_forever, args=(0.05,), name="ingest-server", daemon=True)
        thread.start()
        try:
            yield self
        finally:
            self.shutdown()
            thread.join()
            self.server_close()

    def server_close(self) -> None:
        super().server_close()
        self.store.close()


def make_server(
    db_path: Path | str,
    keys: ServerKeys | Path | str,
    *,
    host: str = "127.0.0.1",
    port: int = 0,
    max_body: int = DEFAULT_MAX_BODY,
    tls_cert: Path | str | None = None,
    tls_key: Path | str | None = None,
    clock: Callable[[], float] = time.time,
) -> IngestServer:
    """Build a bound (not yet serving) ingest server; port 0 picks a free port (see ``server.url``).

    Run it with ``server.serve_forever()`` or ``with server.running(): ...``.
    """
    if not isinstance(keys, ServerKeys):
        keys = ServerKeys.load(Path(keys))
    context = None
    if tls_cert:
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(tls_cert, tls_key)
    store = IngestStore(db_path, clock=clock)
    try:
        return IngestServer((host, port), store, keys, max_body=max_body, ssl_context=context, clock=clock)
    except BaseException:
        store.close()
        raise


# ---------------------------------------------------------------------------------------------------- CLI


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


def _cmd_enroll(args: argparse.Namespace) -> int:
    token = args.token or secrets.token_urlsafe(32)
    store = IngestStore(args.db)
    try:
        store.enroll(args.kiosk_id, args.verify_key.strip(), token)
    except ValueError as exc:
        print(f"cannot enroll {args.kiosk_id}: {exc}", file=sys.stderr)
        return 2
    finally:
        store.close()
    print(f"kiosk {args.kiosk_id} enrolled")
    if not args.token:
        print(f"token (put it in the kiosk's [server] token_file): {token}")
    return 0


def _cmd_serve(args: argparse.Namespace) -> int:
    if bool(args.tls_cert) != bool(args.tls_key):
        print("give both --tls-cert and --tls-key, or neither", file=sys.stderr)
        return 2
    try:
        server = make_server(
            args.db,
            args.key,
            host=args.host,
            port=args.port,
            max_body=args.max_body,
            tls_cert=args.tls_cert,
            tls_key=args.tls_key,
        )
    except (OSError, ValueError) as exc:
        print(f"cannot start the server: {exc}", file=sys.stderr)
        return 1
    # The first line says where it listens (with --port 0, scripts read the port from it).
    print(f"listening on {server.url}", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
    return 0


def _cmd_import_bundle(args: argparse.Namespace) -> int:
    source, ack_out = Path(args.bundle), Path(args.ack_out)
    bundles = sorted(source.glob("*.bundle.tar")) if source.is_dir() else [source]
    if not bundles:
        print(f"no bundle (*.bundle.tar) in {source}", file=sys.stderr)
        return 1
    if len(bundles) > 1 and not ack_out.is_dir():
        print(f"{len(bundles)} bundles in {source}: give a directory as --ack-out", file=sys.stderr)
        return 2
    try:
        keys = ServerKeys.load(Path(args.key))
    except (OSError, ValueError) as exc:
        print(f"cannot read the server key: {exc}", file=sys.stderr)
        return 1
    store = IngestStore(args.db)
    status = 0
    try:
        for bundle in bundles:
            try:
                result = import_bundle(store, keys, bundle, ack_out)
            except (OSError, BundleError) as exc:
                print(f"cannot import {bundle}: {exc}", file=sys.stderr)
                status = 1
                continue
            print(result.summary())
            status = status or (1 if result.rejected or result.problems else 0)
    finally:
        store.close()
    return status


def _cmd_status(args: argparse.Namespace) -> int:
    store = IngestStore(args.db)
    try:
        rows = store.summary()
    finally:
        store.close()
    if not rows:
        print("no kiosk enrolled")
    for kiosk_id, count, last_heartbeat in rows:
        print(f"{kiosk_id}: {count} records, last heartbeat {last_heartbeat or 'never'}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    """The command line parser."""
    parser = argparse.ArgumentParser(prog="ingest_server.py", description=__doc__.split("\n\n")[0])
    parser.add_argument("-v", "--verbose", action="store_true", help="log every request")
    parser.add_argument("-q", "--quiet", action="store_true", help="log only problems (not each record)")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    keygen = commands.add_parser("keygen", help="generate the server key file")
    keygen.add_argument("--key", required=True, metavar="PATH", help="key file to create (mode 0600)")
    keygen.set_defaults(func=_cmd_keygen)

    enroll = commands.add_parser("enroll", help="register a kiosk (or replace its key and token)")
    enroll.add_argument("--db", required=True, metavar="PATH", help="server database")
    enroll.add_argument("--kiosk-id", required=True, metavar="ID")
    enroll.add_argument(
        "--verify-key", required=True, metavar="B64", help="the kiosk's public key (kiosk.pub)"
    )
    enroll.add_argument("--token", metavar="T", help="bearer token (default: generate and print one)")
    enroll.set_defaults(func=_cmd_enroll)

    serve = commands.add_parser("serve", help="run the HTTP(S) ingest server")
    serve.add_argument("--db", required=True, metavar="PATH", help="server database (created if missing)")
    serve.add_argument("--key", required=True, metavar="PATH", help="server key file (from keygen)")
    serve.add_argument("--host", default="127.0.0.1", help="address to listen on (default: %(default)s)")
    serve.add_argument(
        "--port", type=int, default=8443, help="port (0 = any free port; default: %(default)s)"
    )
    serve.add_argument("--max-body", type=int, default=DEFAULT_MAX_BODY, metavar="BYTES")
    serve.add_argument("--tls-cert", metavar="PEM", help="certificate chain (serve HTTPS)")
    serve.add_argument("--tls-key", metavar="PEM", help="private key of the certificate")
    serve.set_defaults(func=_cmd_serve)

    bundle = commands.add_parser("import-bundle", help="import a kiosk's USB bundle and write the ack file")
    bundle.add_argument(
        "bundle", metavar="PATH", help="bundle file from `kiosk outbox export`, or a directory of them"
    )
    bundle.add_argument("--db", required=True, metavar="PATH")
    bundle.add_argument("--key", required=True, metavar="PATH")
    bundle.add_argument(
        "--ack-out", required=True, metavar="PATH", help="acknowledgement file to write, or a directory"
    )
    bundle.set_defaults(func=_cmd_import_bundle)

    status = commands.add_parser("status", help="records and last heartbeat per kiosk")
    status.add_argument("--db", required=True, metavar="PATH")
    status.set_defaults(func=_cmd_status)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run the command line; returns the exit status."""
    args = build_parser().parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.WARNING if args.quiet else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
