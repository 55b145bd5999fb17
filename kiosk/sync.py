"""Delivering the outbox to the registry's ingest server: exactly once, whatever the network does.

Three pieces:

- :class:`IngestClient` speaks the ingest protocol (design guide, "Ingest protocol") over one keep-alive
  HTTP(S) connection (stdlib ``http.client``; TLS verified by default, optional CA bundle) and turns every
  answer into a :class:`Delivery` outcome: ``sent`` (201/200), ``dead`` (400/413/422), ``hold`` (401/403) or
  ``retry`` (408/409/425/429/5xx, any other status, connection errors, timeouts).
- :func:`sync_once` is one pass over the queue with progress, for ``kiosk outbox sync``.
- :class:`SyncWorker` runs on its own thread for the life of the kiosk: oldest record first, woken on
  enqueue (:meth:`SyncWorker.wake`), on network return (:meth:`SyncWorker.network_returned`) and by its timer.
  After a failure the whole queue waits (exponential backoff with full jitter, capped, or the server's
  Retry-After); on 401/403 the queue is held and :class:`~kiosk.events.CredentialsRejected` is posted; the
  records are not at fault and stay pending. It also sends heartbeats and purges sent records after the
  retention period. The UI only ever calls :meth:`~SyncWorker.wake` and :meth:`~SyncWorker.status`, which
  never block on the network or the database.

Exactly once: a record leaves the outbox (``sent``) only after the server's receipt. A lost answer, a crash or
a power cut between the server's commit and ``mark_sent`` just means the record is posted again with the same
``Idempotency-Key``, and the server answers 200 with the original receipt.
"""

from __future__ import annotations

import base64
import binascii
import collections
import contextlib
import datetime
import email.utils
import hashlib
import http.client
import json
import logging
import random
import select
import socket
import ssl
import threading
import time
import urllib.parse
from collections.abc import Callable, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from http import HTTPStatus
from pathlib import Path
from typing import Any, Literal

import nacl.signing

from hal.events import EventQueue
from kiosk import __version__
from kiosk.config import Config, ConfigError, SyncSettings
from kiosk.events import CredentialsRejected, RecordRejected, SyncStatusChanged
from kiosk.outbox import META_LAST_SYNC, Outbox, OutboxError, OutboxItem
from kiosk.protocol import ReceiptError, verify_receipt

log = logging.getLogger(__name__)

Outcome = Literal["sent", "retry", "dead", "hold"]

#: Statuses that mean the record itself is refused for good (it goes dead, with the reason).
#: How a delivery without a verifiable receipt is named in the record's last error and the log: an alert.
RECEIPT_ALERT = "no valid signed receipt from the office service"

PERMANENT_REJECTIONS = frozenset({400, 413, 422})
#: Statuses that mean the kiosk's credentials are wrong (the whole queue is held).
CREDENTIAL_REJECTIONS = frozenset({401, 403})
#: Longest Retry-After honoured; a larger (or absurd) value is cut to this.
MAX_RETRY_AFTER_S = 3600.0
#: Largest answer read from the server (a receipt is a few hundred bytes).
MAX_RESPONSE_BYTES = 64 * 1024
#: A request may take ``timeout`` plus one second per this many bytes of body: a slow but moving rural link
#: still gets a 200 KB record through, a connection that trickles forever does not hold the queue.
SLOW_LINK_BYTES_PER_S = 4096
#: Sent records are purged at most this often.
PURGE_INTERVAL_S = 3600.0
#: Records claimed ahead, and receipts stored, per outbox transaction while draining.
BATCH = 16


# ------------------------------------------------------------------------------------------------- results


@dataclass(frozen=True)
class Delivery:
    """What became of one attempt to deliver a record.

    Attributes:
        outcome: ``sent``, ``retry``, ``dead`` or ``hold``.
        status: the HTTP status, or None when no answer came (connection error, timeout).
        receipt: the server's receipt (JSON text) when sent.
        retry_after: seconds the server asked to wait (Retry-After), if it did.
        reason: plain words for the log, the outbox's last error and the maintenance screen.
    """

    outcome: Outcome
    status: int | None
    receipt: str | None = None
    retry_after: float | None = None
    reason: str = ""


@dataclass(frozen=True)
class ProbeResult:
    """The answer to "can this kiosk reach its server?", for the maintenance screen.

    Attributes:
        reachable: the server answered its health check.
        credentials: ``accepted``, ``rejected`` or ``unknown`` (not reachable, or no token configured).
        status: the HTTP status of the health check, if any.
        latency_s: how long the health check took, if it was answered.
        message: one plain sentence saying what was found and what to do.
    """

    reachable: bool
    credentials: Literal["accepted", "rejected", "unknown"]
    status: int | None
    latency_s: float | None
    message: str


@dataclass(frozen=True)
class SyncReport:
    """The result of one :func:`sync_once` pass."""

    sent: int
    retried: int
    dead: int
    held: bool
    error: str | None


@dataclass(frozen=True)
class SyncStatus:
    """A snapshot of the sync worker for the status bar and the maintenance screen.

    Attributes:
        state: ``idle``, ``sending``, ``waiting`` (backing off), ``held`` (credentials rejected) or
            ``stopped``.
        counts: records per outbox state (as of the last refresh, made by the worker thread).
        oldest_pending_age_s: age of the oldest undelivered record, if any.
        last_error: why the last attempt failed, if it did.
        last_sent_at: when a record was last delivered (kiosk clock), if ever.
        next_attempt_at: when the worker tries next after a failure or hold (kiosk clock), if waiting.
    """

    state: str = "stopped"
    counts: Mapping[str, int] = field(default_factory=dict)
    oldest_pending_age_s: float | None = None
    last_error: str | None = None
    last_sent_at: float | None = None
    next_attempt_at: float | None = None

    @property
    def pending(self) -> int:
        """Records not yet delivered (pending + being sent)."""
        return self.counts.get("pending", 0) + self.counts.get("sending", 0)


# -------------------------------------------------------------------------------------------------- client


class RequestAborted(ConnectionError):
    """The request ran out of time or was cut short by :meth:`IngestClient.abort`."""


class _Deadline:
    """Shuts a socket down when its request overruns the time budget or when :meth:`abort` is called.

    Socket timeouts bound each read, not a whole exchange: a connection that trickles one byte a second would
    never time out. This one watchdog thread per client bounds the whole request, and lets ``stop()`` cut an
    in-flight request short instead of waiting for it.
    """

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._sock: socket.socket | None = None
        self._deadline = 0.0
        self._thread: threading.Thread | None = None
        self._closing = False
        self.fired = False

    def arm(self, sock: socket.socket, seconds: float) -> None:
        with self._cond:
            self._sock, self._deadline, self.fired = sock, time.monotonic() + seconds, False
            # A thread told to close that has not noticed yet simply carries on watching.
            self._closing = False
            if self._thread is None:
                self._thread = threading.Thread(target=self._watch, name="ingest-deadline", daemon=True)
                self._thread.start()
            self._cond.notify()

    def close(self) -> None:
        """Cut any request short and let the watchdog thread end (a later :meth:`arm` starts a new one)."""
        with self._cond:
            self._cut()
            self._closing = True
            self._cond.notify()

    def disarm(self) -> None:
        with self._cond:
            self._sock = None

    def abort(self) -> None:
        with self._cond:
            self._cut()

    def _cut(self) -> None:
        if self._sock is not None:
            self.fired = True
            with contextlib.suppress(OSError):
                self._sock.shutdown(socket.SHUT_RDWR)
            self._sock = None

    def _watch(self) -> None:
        with self._cond:
            while not self._closing:
                if self._sock is None:
                    self._cond.wait()
                    continue
                left = self._deadline - time.monotonic()
                if left <= 0:
                    self._cut()
                else:
                    self._cond.wait(left)
            self._thread = None


class IngestClient:
    """The kiosk's side of the ingest protocol over one reused (keep-alive) connection.

    Thread-safe: one request at a time (the sync worker and a maintenance probe may share a client).

    Args:
        base_url: ``https://host[:port][/prefix]`` of the ingest server (``http://`` for tests and labs).
        token: this kiosk's bearer token.
        kiosk_id: this kiosk's id (``X-Kiosk-Id``).
        timeout: seconds allowed to connect, for each read, and for a whole request (plus one second per
            4 KB of body, see :data:`SLOW_LINK_BYTES_PER_S`).
        verify_tls: check the server's certificate and host name (never switch off in production).
        ca_bundle: PEM file of the CA that signed the server's certificate; None = the system's store.
        clock: seconds since the epoch, to turn a Retry-After date into seconds.
        ack_verify_key: the office service's Ed25519 acknowledgement key (base64, ``[server] ack_verify_key``)
            that every delivery receipt must be signed with; None = no receipt is accepted, nothing leaves.
    """

    def __init__(
        self,
        base_url: str,
        token: str,
        kiosk_id: str,
        *,
        timeout: float = 15.0,
        verify_tls: bool = True,
        ca_bundle: str | Path | None = None,
        clock: Callable[[], float] = time.time,
        ack_verify_key: str | None = None,
    ) -> None:
        parsed = urllib.parse.urlsplit(base_url)
        if parsed.scheme not in ("http", "https") or not parsed.hostname:
            raise ValueError(f"the server URL {base_url!r} must be http(s)://host[:port][/path]")
        self.base_url = base_url.rstrip("/")
        self._https = parsed.scheme == "https"
        self._host = parsed.hostname
        self._port = parsed.port or (443 if self._https else 80)
        self._prefix = parsed.path.rstrip("/")
        self.kiosk_id = kiosk_id
        self._token = token
        self.timeout = timeout
        self._clock = clock
        self._ack_key = _verify_key(ack_verify_key) if ack_verify_key else None
        self._context: ssl.SSLContext | None = None
        if self._https:
            self._context = ssl.create_default_context(cafile=str(ca_bundle) if ca_bundle else None)
            if not verify_tls:
                log.warning("TLS verification is OFF for %s: only acceptable in a lab", self.base_url)
                self._context.check_hostname = False
                self._context.verify_mode = ssl.CERT_NONE
        self._lock = threading.Lock()
        self._conn: http.client.HTTPConnection | None = None
        self._deadline = _Deadline()
        self._user_agent = f"dukcapil-kiosk/{__version__}"

    @classmethod
    def from_config(cls, config: Config, *, clock: Callable[[], float] = time.time) -> IngestClient:
        """A client for the config's ``[server]`` section (the token may come from ``token_file``).

        Raises:
            ConfigError: the token file cannot be read, or the URL is unusable.
        """
        server = config.server
        token = server.token
        if server.token_file:
            path = Path(server.token_file).expanduser()
            try:
                token = path.read_text(encoding="utf-8").strip()
            except OSError as exc:
                raise ConfigError(f"server.token_file: cannot read {path} ({exc.strerror})") from None
        try:
            return cls(
                server.url,
                token,
                config.kiosk.id,
                timeout=server.timeout_s,
                verify_tls=server.verify_tls,
                ca_bundle=server.ca_bundle or None,
                clock=clock,
                ack_verify_key=server.ack_verify_key or None,
            )
        except (ValueError, OSError) as exc:
            raise ConfigError(f"server: {exc}") from None

    def __repr__(self) -> str:
        return f"IngestClient({self.base_url!r}, kiosk_id={self.kiosk_id!r})"

    # -- the protocol ----------------------------------------------------------------------------------------

    def post_record(self, item: OutboxItem) -> Delivery:
        """Deliver one claimed outbox item (its blob) and classify the answer; no network error raises."""
        blob = item.blob
        if blob is None:
            raise ValueError("post_record needs an item from Outbox.claim_next (with its blob)")
        headers = {
            **self._auth_headers(),
            "Idempotency-Key": f'"{item.record_id}"',
            "X-Record-SHA256": item.sha256,
            "Content-Type": "application/octet-stream",
        }
        budget = self.timeout + len(blob) / SLOW_LINK_BYTES_PER_S
        try:
            status, answer_headers, body = self._exchange("POST", "/v1/records", blob, headers, budget)
        except (OSError, http.client.HTTPException) as exc:
            return Delivery("retry", None, reason=self._describe(exc))
        return self._classify(item, status, answer_headers, body)

    def probe(self) -> ProbeResult:
        """``GET /v1/health`` with this kiosk's credentials; the result in plain words."""
        started = time.monotonic()
        try:
            status, _headers, body = self._exchange(
                "GET", "/v1/health", None, self._auth_headers(), self.timeout
            )
        except (OSError, http.client.HTTPException) as exc:
            return ProbeResult(False, "unknown", None, None, f"{self._describe(exc)} ({self.base_url})")
        latency = time.monotonic() - started
        if status != HTTPStatus.OK:
            return ProbeResult(
                False,
                "unknown",
                status,
                latency,
                f"the server at {self.base_url} answered {status} to its check",
            )
        answer = _json_object(body)
        credentials = answer.get("credentials")
        where = f"server {self.base_url} reachable ({latency * 1000:.0f} ms)"
        if credentials == "accepted":
            return ProbeResult(True, "accepted", status, latency, f"{where}; this kiosk's token is accepted")
        if credentials == "rejected":
            detail = answer.get("detail") or "token rejected"
            return ProbeResult(
                True,
                "rejected",
                status,
                latency,
                f"{where}, but it rejects this kiosk ({detail}): enrol the kiosk again or fix the token",
            )
        return ProbeResult(True, "unknown", status, latency, f"{where}; credentials not checked")

    def heartbeat(self, snapshot: Mapping[str, Any]) -> bool:
        """``POST /v1/heartbeat`` with a health snapshot (JSON object); True when the server stored it."""
        body = json.dumps(snapshot, sort_keys=True, default=str).encode()
        headers = {**self._auth_headers(), "Content-Type": "application/json"}
        try:
            status, _headers, _body = self._exchange("POST", "/v1/heartbeat", body, headers, self.timeout)
        except (OSError, http.client.HTTPException) as exc:
            log.debug("heartbeat not delivered: %s", self._describe(exc))
            return False
        if status != HTTPStatus.OK:
            log.debug("heartbeat refused with %d", status)
        return status == HTTPStatus.OK

    def abort(self) -> None:
        """Cut the request in flight short (from another thread); it fails with a connection error.

        A request still connecting is not cut: it gives up after ``timeout``.
        """
        self._deadline.abort()

    def close(self) -> None:
        """Close the connection and stop the watchdog thread (idempotent; a later request opens anew)."""
        self._deadline.close()
        with self._lock:
            self._drop()

    # -- internals -----------------------------------------------------------------------------------------

    def _auth_headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self._token}", "X-Kiosk-Id": self.kiosk_id}

    def _connection(self) -> http.client.HTTPConnection:
        """The open keep-alive connection, or a new one when there is none or the server closed it."""
        conn = self._conn
        if conn is not None and conn.sock is not None:
            # An idle connection that is readable has been closed (or broken) by the server: reusing it
            # would fail mid-request, so it is replaced before sending anything.
            readable, _, _ = select.select([conn.sock], [], [], 0)
            if not readable:
                return conn
            self._drop()
        if self._https:
            conn = http.client.HTTPSConnection(
                self._host, self._port, timeout=self.timeout, context=self._context
            )
        else:
            conn = http.client.HTTPConnection(self._host, self._port, timeout=self.timeout)
        conn.connect()
        # Requests go out in one write, but an answer must not wait on Nagle's algorithm either way.
        conn.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self._conn = conn
        return conn

    def _drop(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    def _exchange(
        self, method: str, path: str, body: bytes | None, headers: dict[str, str], budget: float
    ) -> tuple[int, http.client.HTTPMessage, bytes]:
        """One request/answer on the shared connection, within ``budget`` seconds in all."""
        headers = {"User-Agent": self._user_agent, **headers}
        with self._lock:
            try:
                conn = self._connection()
                assert conn.sock is not None
                self._deadline.arm(conn.sock, budget)
                try:
                    conn.request(method, self._prefix + path, body=body, headers=headers)
                    response = conn.getresponse()
                    if response.length is not None and response.length > MAX_RESPONSE_BYTES:
                        raise http.client.HTTPException(f"an answer of {response.length} bytes is too large")
                    # With a Content-Length, read() insists on all of it (IncompleteRead otherwise).
                    data = (
                        response.read() if response.length is not None else response.read(MAX_RESPONSE_BYTES)
                    )
                finally:
                    self._deadline.disarm()
                if self._deadline.fired:
                    raise RequestAborted(f"no complete answer within {budget:.0f} s")
                if response.will_close:
                    self._drop()
                return response.status, response.headers, data
            except (OSError, http.client.HTTPException) as exc:
                self._drop()
                if self._deadline.fired:
                    raise RequestAborted(f"no complete answer within {budget:.0f} s") from exc
                raise

    def _check_receipt(self, item: OutboxItem, status: int, body: bytes) -> Delivery:
        """A 200/201 is a delivery only with the office service's signed receipt for exactly this record.

        Anything else (no receipt, another record's, a forged or unsigned one, no pinned key to check it with)
        keeps the sealed copy: the record may well be stored, and a retry gets the genuine receipt through the
        server's de-duplication. The reason says "receipt", so the technician sees it as an alert.
        """
        if self._ack_key is None:
            return Delivery(
                "retry", status, reason=f"{RECEIPT_ALERT}: no [server] ack_verify_key to check it with"
            )
        try:
            verify_receipt(
                body, self._ack_key, record_id=item.record_id, kiosk_id=self.kiosk_id, sha256=item.sha256
            )
        except ReceiptError as exc:
            log.error(
                "record %s: %s (%s); the record stays on this kiosk", item.record_id, RECEIPT_ALERT, exc
            )
            return Delivery("retry", status, reason=f"{RECEIPT_ALERT}: {exc}")
        return Delivery("sent", status, receipt=body.decode("utf-8"))

    def _classify(
        self, item: OutboxItem, status: int, headers: http.client.HTTPMessage, body: bytes
    ) -> Delivery:
        if status in (HTTPStatus.OK, HTTPStatus.CREATED):
            return self._check_receipt(item, status, body)
        explanation = _json_object(body).get("error")
        said = f": {explanation}" if isinstance(explanation, str) and explanation else ""
        if status in PERMANENT_REJECTIONS:
            return Delivery("dead", status, reason=f"the server rejected the record ({status}{said})")
        if status in CREDENTIAL_REJECTIONS:
            return Delivery(
                "hold", status, reason=f"the server rejected this kiosk's credentials ({status}{said})"
            )
        retry_after = parse_retry_after(headers.get("Retry-After"), self._clock())
        if status in (408, 409, 425, 429) or status >= 500:
            reason = f"the server is busy or failing ({status}{said})"
        else:
            reason = f"unexpected answer {status} from the server{said}; check [server] url"
        return Delivery("retry", status, retry_after=retry_after, reason=reason)

    def _describe(self, exc: BaseException) -> str:
        """A connection problem in plain words."""
        if isinstance(exc, RequestAborted):
            return f"the server's answer was too slow or cut short ({exc})"
        if isinstance(exc, ssl.SSLCertVerificationError):
            return (
                f"the server's TLS certificate is not trusted ({exc.verify_message}); check server.ca_bundle"
            )
        if isinstance(exc, ssl.SSLError):
            return f"TLS failed with the server ({exc.reason or exc})"
        if isinstance(exc, ConnectionRefusedError):
            return "the server refused the connection (is it running? is the address right?)"
        if isinstance(exc, TimeoutError):
            return "the server did not answer in time"
        if isinstance(exc, socket.gaierror):
            return f"the server's name {self._host} cannot be resolved (no network or DNS?)"
        if isinstance(exc, ConnectionError | http.client.RemoteDisconnected | http.client.IncompleteRead):
            return "the connection to the server broke before its answer arrived"
        if isinstance(exc, http.client.HTTPException):
            return f"the server's answer was not valid HTTP ({exc.__class__.__name__})"
        return f"network error: {exc.strerror if isinstance(exc, OSError) and exc.strerror else exc}"


def parse_retry_after(value: str | None, now: float) -> float | None:
    """Seconds to wait from a Retry-After header (delay-seconds or an HTTP-date); None when absent or invalid.

    The result is between 0 and :data:`MAX_RETRY_AFTER_S`.
    """
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        seconds = float(value)
    else:
        try:
            moment = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError, IndexError):
            return None
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=datetime.UTC)
        seconds = moment.timestamp() - now
    return min(max(seconds, 0.0), MAX_RETRY_AFTER_S)


def _verify_key(value: str) -> nacl.signing.VerifyKey:
    try:
        return nacl.signing.VerifyKey(base64.b64decode(value, validate=True))
    except (binascii.Error, ValueError, TypeError):
        raise ValueError("ack_verify_key is not a base64 Ed25519 public key (32 bytes)") from None


def _json_object(body: bytes) -> dict[str, Any]:
    try:
        value = json.loads(body)
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


def full_jitter_backoff(failures: int, initial: float, cap: float, rng: random.Random) -> float:
    """Seconds to wait after ``failures`` consecutive failures: uniform in [0, min(cap, initial * 2^(n-1))].

    "Full jitter" (AWS architecture blog): many kiosks coming back after the same outage do not all retry at
    the same instant.
    """
    ceiling = min(cap, initial * 2 ** min(max(failures - 1, 0), 62))
    return rng.uniform(0.0, ceiling)


# ----------------------------------------------------------------------------------------------- one pass


def _record_outcome(outbox: Outbox, item: OutboxItem, delivery: Delivery, next_attempt: float) -> None:
    """Store what became of one attempt (the row is in ``sending``)."""
    if delivery.outcome == "sent":
        outbox.mark_sent(item.record_id, delivery.receipt or "")
    elif delivery.outcome == "dead":
        log.error("record %s rejected for good: %s", item.record_id, delivery.reason)
        outbox.mark_dead(item.record_id, delivery.reason)
    elif delivery.outcome == "hold":
        outbox.release(item.record_id)
    else:
        outbox.mark_retry(item.record_id, delivery.reason, next_attempt)


#: The outcome for a stored blob that no longer matches its hash: sending it would only earn a 400.
DAMAGED = Delivery("dead", None, reason="the stored record is damaged (its checksum does not match)")


class _Courier:
    """Posts records one after the other, oldest first, with the outbox's disk work off the wire's time.

    Every outbox change is an fsynced SQLite commit, which on an SD card can take longer than a whole request.
    So a helper thread claims records :data:`BATCH` at a time (one commit) while earlier ones are on the wire,
    and the receipts of sent records are stored :data:`BATCH` at a time (one commit). Neither commit needs to
    be individually durable for exactly-once delivery: a claim lost to a crash goes back to pending on the
    next start, a lost receipt means one re-post that the server answers 200 with the original receipt.

    ``sent`` and ``dead`` outcomes are stored by the courier. On ``retry`` or ``hold`` the caller stores the
    outcome itself (it decides the next attempt), the courier stops, and the records it had claimed ahead go
    back to pending without counting an attempt. When :meth:`run` returns, everything is stored.
    """

    def __init__(self, outbox: Outbox, client: IngestClient, *, due_only: bool = True) -> None:
        self._outbox = outbox
        self._client = client
        self._due_only = due_only

    def run(self, on_delivery: Callable[[OutboxItem, Delivery], bool]) -> None:
        """Deliver until the queue is empty or ``on_delivery(item, delivery)`` returns False."""
        with ThreadPoolExecutor(max_workers=1, thread_name_prefix="outbox-io") as disk:
            ready: collections.deque[tuple[OutboxItem, bool]] = collections.deque()
            refill: Future[list[tuple[OutboxItem, bool]]] | None = disk.submit(self._take)
            receipts: list[tuple[str, str]] = []
            writes: collections.deque[Future[None]] = collections.deque()
            try:
                while True:
                    if not ready:
                        batch = refill.result() if refill is not None else []
                        refill = None
                        if not batch:
                            break
                        ready.extend(batch)
                    if refill is None and len(ready) <= BATCH // 2:
                        refill = disk.submit(self._take)
                    item, intact = ready.popleft()
                    delivery = self._post(item) if intact else DAMAGED
                    if delivery.outcome == "sent":
                        receipts.append((item.record_id, delivery.receipt or ""))
                        if len(receipts) >= BATCH:
                            writes.append(disk.submit(self._outbox.mark_sent_many, receipts))
                            receipts = []
                    elif delivery.outcome == "dead":
                        writes.append(disk.submit(_record_outcome, self._outbox, item, delivery, 0.0))
                    while writes and writes[0].done():
                        writes.popleft().result()  # a storage error surfaces here, not at the end
                    if not on_delivery(item, delivery):
                        break
            finally:
                if refill is not None:
                    ready.extend(refill.result())
                for item, _intact in ready:
                    self._outbox.release(item.record_id)
                self._outbox.mark_sent_many(receipts)
                for write in writes:
                    write.result()

    def _post(self, item: OutboxItem) -> Delivery:
        try:
            return self._client.post_record(item)
        except Exception as exc:  # a bug must not strand the record in `sending`: it is tried again later
            log.exception("delivering record %s failed unexpectedly", item.record_id)
            return Delivery("retry", None, reason=f"internal error while sending ({exc.__class__.__name__})")

    def _take(self) -> list[tuple[OutboxItem, bool]]:
        """The next records, each with whether its blob still matches its hash (checked off the wire)."""
        items = self._outbox.claim_batch(BATCH, due_only=self._due_only)
        return [
            (item, item.blob is not None and hashlib.sha256(item.blob).hexdigest() == item.sha256)
            for item in items
        ]


def sync_once(
    outbox: Outbox,
    client: IngestClient,
    progress: Callable[[int, int], None] | None = None,
    *,
    clock: Callable[[], float] = time.time,
) -> SyncReport:
    """Try every pending record now, oldest first, until the queue is empty or the server stops accepting.

    Used by ``kiosk outbox sync`` and the maintenance screen's "sync now". Records the worker is backing
    off are tried too. The pass stops at the first failure that is not the record's fault (the server is down
    or busy: the record goes back with the server's Retry-After, if any) or at a credentials rejection (the
    record goes back untouched and the report says ``held``). Records rejected for good go dead and the pass
    goes on.

    Args:
        outbox: the kiosk's outbox.
        client: the ingest client.
        progress: called as ``progress(done, total)`` after each record (``total`` = pending at the start).
        clock: the outbox's clock, for the next attempt time of a record that failed.
    """
    total = outbox.counts()["pending"]
    done = {"sent": 0, "dead": 0}
    failure: list[Delivery] = []

    def on_delivery(item: OutboxItem, delivery: Delivery) -> bool:
        if delivery.outcome in ("retry", "hold"):
            _record_outcome(outbox, item, delivery, clock() + (delivery.retry_after or 0.0))
            failure.append(delivery)
            return False
        done[delivery.outcome] += 1
        if progress is not None:
            finished = done["sent"] + done["dead"]
            progress(finished, max(total, finished))
        return True

    _Courier(outbox, client, due_only=False).run(on_delivery)
    if failure:
        (delivery,) = failure
        held = delivery.outcome == "hold"
        return SyncReport(done["sent"], 0 if held else 1, done["dead"], held, delivery.reason)
    return SyncReport(done["sent"], 0, done["dead"], False, None)


# ------------------------------------------------------------------------------------------------- worker


class SyncWorker:
    """Delivers the outbox in the background (see the module docstring).

    Args:
        outbox: the kiosk's outbox (thread-safe).
        client: the ingest client.
        settings: backoff, poll, heartbeat and retention settings (``[sync]``).
        events: where to post :class:`~kiosk.events.SyncStatusChanged`,
            :class:`~kiosk.events.CredentialsRejected` and :class:`~kiosk.events.RecordRejected`;
            None = nowhere.
        clock: seconds since the epoch (the outbox's clock); tests inject a fake one and call :meth:`wake`.
        rng: randomness for the backoff jitter; tests inject a seeded one.
        heartbeat: returns the health snapshot to send (devices, battery ...); called on the worker's thread,
            so it must be thread-safe and quick. None = no heartbeats.
    """

    def __init__(
        self,
        outbox: Outbox,
        client: IngestClient,
        *,
        settings: SyncSettings,
        events: EventQueue | None = None,
        clock: Callable[[], float] = time.time,
        rng: random.Random | None = None,
        heartbeat: Callable[[], Mapping[str, Any]] | None = None,
    ) -> None:
        self._outbox = outbox
        self._client = client
        self._settings = settings
        self._events = events
        self._clock = clock
        self._rng = rng or random.Random()
        self._heartbeat = heartbeat
        self._wake = threading.Event()
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()
        self._status = SyncStatus()
        self._failures = 0
        self._blocked_until = 0.0
        self._held = False
        self._try_all = False
        self._last_error: str | None = None
        self._last_sent_at: float | None = None
        self._next_heartbeat = 0.0
        self._next_purge = 0.0
        self._published = 0.0
        self._stopped_on_failure = False
        self._tally: dict[str, int] = {}

    # -- control (any thread) --------------------------------------------------------------------------

    def start(self) -> None:
        """Start the worker thread (once)."""
        if self._thread is not None:
            raise RuntimeError("the sync worker is already started")
        self._stopping.clear()
        self._thread = threading.Thread(target=self._run, name="sync-worker", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        """Stop the thread: a request in flight is cut short and its record stays pending. Idempotent."""
        self._stopping.set()
        self._wake.set()
        thread = self._thread
        if thread is None:
            return
        deadline = time.monotonic() + timeout
        # Abort again until the thread is out: a request may start between the flag and the first abort.
        while thread.is_alive() and (left := deadline - time.monotonic()) > 0:
            self._client.abort()
            thread.join(min(left, 0.05))
        if thread.is_alive():
            log.warning("the sync worker did not stop within %.1f s", timeout)

    def wake(self) -> None:
        """Look at the queue now (a record was enqueued); a running backoff or hold is respected."""
        self._wake.set()

    def network_returned(self) -> None:
        """The network is back: forget the backoff and try every pending record now (a hold stays)."""
        with self._lock:
            if not self._held:
                self._blocked_until = 0.0
                self._try_all = True
            self._failures = 0
        self._wake.set()

    def sync_now(self) -> None:
        """The technician asked: end any backoff or hold wait and try every pending record now."""
        with self._lock:
            self._blocked_until = 0.0
            self._failures = 0
            self._try_all = True
        self._wake.set()

    def set_client(self, client: IngestClient) -> None:
        """Use a new client (the technician fixed the URL or token): lifts the hold and retries the queue."""
        with self._lock:
            old, self._client = self._client, client
            self._blocked_until = 0.0
            self._failures = 0
            self._held = False
        old.close()
        self._wake.set()

    def status(self) -> SyncStatus:
        """The latest snapshot (made by the worker thread; this never touches the network or the disk)."""
        with self._lock:
            return self._status

    # -- the thread ------------------------------------------------------------------------------------

    def _run(self) -> None:
        self._publish("idle")
        while not self._stopping.is_set():
            self._wake.clear()
            try:
                wait = self._pass()
            except OutboxError as exc:
                # Storage trouble is the technician's (the status says it); the worker keeps trying slowly.
                log.error("sync: %s", exc)
                self._last_error = str(exc)
                wait = self._settings.poll_interval_s
            # The worker thread must outlive any bug; the records stay safe in the outbox meanwhile.
            except Exception as exc:
                log.exception("sync pass failed")
                self._last_error = f"internal error ({exc.__class__.__name__}); see the log"
                wait = self._settings.poll_interval_s
            self._wake.wait(max(0.0, min(wait, self._settings.poll_interval_s)))
        self._publish("stopped")

    def _pass(self) -> float:
        """One look at the queue; returns how long to sleep unless woken."""
        now = self._clock()
        with self._lock:
            client, blocked_until, try_all = self._client, self._blocked_until, self._try_all
            self._try_all = False
        if now >= self._next_purge:
            self._next_purge = now + PURGE_INTERVAL_S
            self._outbox.purge_sent(self._settings.retention_days * 86400.0)
        # Rows a crashed `kiosk outbox sync` left in `sending` (never rows of a live process).
        self._outbox.recover_interrupted()
        if now < blocked_until:
            self._publish("held" if self._held else "waiting")
            return blocked_until - now
        self._send_heartbeat(client, now)
        self._published = time.monotonic()
        self._stopped_on_failure = False
        self._tally = {"sent": 0, "dead": 0, "retry": 0, "hold": 0}
        self._publish("sending")
        _Courier(self._outbox, client, due_only=not try_all).run(self._on_delivery)
        self._remember_pass()
        if self._stopped_on_failure:
            # Published only now: the record claimed ahead is back in the queue and the pass is on record.
            self._publish("held" if self._held else "waiting")
            return max(0.0, self._blocked_until - self._clock())
        self._publish("idle")
        due = self._outbox.next_due()
        return self._settings.poll_interval_s if due is None else max(0.0, due - self._clock())

    def _on_delivery(self, item: OutboxItem, delivery: Delivery) -> bool:
        """What to do after one attempt (the courier already stored sent/dead); False stops the pass."""
        now = self._clock()
        self._tally[delivery.outcome] += 1
        if delivery.outcome == "sent":
            with self._lock:
                self._failures, self._held = 0, False
            self._last_sent_at, self._last_error = now, None
        elif delivery.outcome == "dead":
            self._post(
                RecordRejected(record_id=item.record_id, status=delivery.status, reason=delivery.reason)
            )
        elif self._stopping.is_set() and delivery.outcome == "retry":
            # Cut short by stop(): not the server's fault, no attempt counted.
            self._outbox.release(item.record_id)
            return False
        else:
            self._failed(item, delivery, now)
            return False
        if self._stopping.is_set():
            return False
        if time.monotonic() - self._published > 1.0:
            self._published = time.monotonic()
            self._publish("sending")
        return True

    def _remember_pass(self) -> None:
        """Note this pass's result in the outbox (``kiosk outbox status`` shows it), if it tried anything."""
        if not any(self._tally.values()):
            return
        moment = datetime.datetime.fromtimestamp(self._clock(), tz=datetime.UTC)
        result = {
            "at": moment.isoformat(timespec="seconds").replace("+00:00", "Z"),
            "sent": self._tally["sent"],
            "retried": self._tally["retry"],
            "dead": self._tally["dead"],
            "held": self._tally["hold"] > 0,
            "error": self._last_error if self._stopped_on_failure else None,
            "by": "worker",
        }
        self._outbox.set_meta(META_LAST_SYNC, json.dumps(result))

    def _failed(self, item: OutboxItem, delivery: Delivery, now: float) -> None:
        """A retry or hold: store it and make the whole queue wait."""
        self._stopped_on_failure = True
        self._last_error = delivery.reason
        if delivery.outcome == "hold":
            _record_outcome(self._outbox, item, delivery, now)
            with self._lock:
                newly_held, self._held = not self._held, True
                self._blocked_until = now + self._settings.poll_interval_s
            log.error("sync held: %s", delivery.reason)
            if newly_held:
                self._post(CredentialsRejected(status=delivery.status or 0, reason=delivery.reason))
            return
        with self._lock:
            self._failures += 1
            if delivery.retry_after is not None:
                delay = delivery.retry_after
            else:
                delay = full_jitter_backoff(
                    self._failures, self._settings.backoff_initial_s, self._settings.backoff_max_s, self._rng
                )
            self._blocked_until = now + delay
        log.warning(
            "record %s not delivered (%s); next try in %.1f s", item.record_id, delivery.reason, delay
        )
        _record_outcome(self._outbox, item, delivery, now + delay)

    def _send_heartbeat(self, client: IngestClient, now: float) -> None:
        if self._heartbeat is None or now < self._next_heartbeat:
            return
        self._next_heartbeat = now + self._settings.heartbeat_interval_s
        try:
            snapshot = dict(self._heartbeat())
        except Exception:  # a broken snapshot must not stop deliveries
            log.exception("the heartbeat snapshot failed")
            return
        snapshot["outbox"] = {
            "counts": self._outbox.counts(),
            "oldest_pending_age_s": self._outbox.oldest_pending_age(),
        }
        client.heartbeat(snapshot)

    def _publish(self, state: str) -> None:
        """Refresh the status snapshot (worker thread only); post it when something a person sees changed."""
        try:
            counts = self._outbox.counts()
            oldest = self._outbox.oldest_pending_age()
        except OutboxError as exc:
            counts, oldest = dict(self._status.counts), self._status.oldest_pending_age_s
            self._last_error = str(exc)
        with self._lock:
            waiting = state in ("waiting", "held")
            status = SyncStatus(
                state=state,
                counts=counts,
                oldest_pending_age_s=oldest,
                last_error=self._last_error,
                last_sent_at=self._last_sent_at,
                next_attempt_at=self._blocked_until if waiting else None,
            )
            previous, self._status = self._status, status
        seen = (status.state, status.pending, status.counts.get("dead", 0), status.last_error)
        before = (previous.state, previous.pending, previous.counts.get("dead", 0), previous.last_error)
        if seen != before:
            self._post(
                SyncStatusChanged(
                    state=state,
                    pending=status.pending,
                    dead=status.counts.get("dead", 0),
                    detail=status.last_error or "",
                )
            )

    def _post(self, event: Any) -> None:
        if self._events is not None:
            self._events.post(event)
