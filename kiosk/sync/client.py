"""The kiosk's side of the ingest protocol: :class:`IngestClient`, one keep-alive HTTP(S) connection.

It speaks the protocol of the design guide ("Ingest protocol") with the stdlib's ``http.client`` (TLS
verified by default, optional CA bundle) and turns every answer into a :class:`Delivery` with an
:class:`Outcome`: ``sent`` (201/200 with the service's signed receipt), ``dead`` (the service's own
permanent problem document naming the record: 400/413/422), ``hold`` (401/403) or ``retry``
(408/409/425/429/5xx, a foreign 4xx, any other status, connection errors, timeouts).

A record body of :data:`EXPECT_CONTINUE_MIN_BYTES` or more goes out with ``Expect: 100-continue``: the
headers first, then the body only once the server said "100 Continue" (or stayed silent for
:data:`EXPECT_CONTINUE_WAIT_S`, as RFC 9110 section 10.1.1 allows for servers that ignore the header). A
server that refuses the record from its headers alone (413, too large) answers before a byte of the body is
sent, so the kiosk always reads that answer instead of losing it to a connection reset mid-upload.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import datetime
import email.utils
import enum
import http.client
import json
import logging
import selectors
import socket
import ssl
import threading
import time
import urllib.parse
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from http import HTTPStatus
from pathlib import Path
from typing import Any, Literal

import nacl.signing

from kiosk import __version__
from kiosk.config import Config, ConfigError
from kiosk.outbox import OutboxItem
from kiosk.protocol import ReceiptError, parse_problem, verify_receipt

log = logging.getLogger("kiosk.sync")


class Outcome(enum.StrEnum):
    """What became of one delivery attempt (a str, so it also compares to and logs as its name)."""

    SENT = "sent"
    RETRY = "retry"
    DEAD = "dead"
    HOLD = "hold"


#: How a delivery without a verifiable receipt is named in the record's last error and the log: an alert.
RECEIPT_ALERT = "no valid signed receipt from the office service"
#: Statuses at which the service's own problem document (permanent, naming the record) dead-letters it.
PERMANENT_REJECTIONS = frozenset({400, 413, 422})
#: A 4xx that is not the service's word (a proxy's, a captive portal's) waits at least this long.
FOREIGN_REJECTION_BACKOFF_S = 900.0
#: Statuses that mean the kiosk's credentials are wrong (the whole queue is held).
CREDENTIAL_REJECTIONS = frozenset({401, 403})
#: Longest Retry-After honoured; a larger (or absurd) value is cut to this.
MAX_RETRY_AFTER_S = 3600.0
#: Largest answer read from the server (a receipt is a few hundred bytes).
MAX_RESPONSE_BYTES = 64 * 1024
#: A request may take ``timeout`` plus one second per this many bytes of body: a slow but moving rural link
#: still gets a 200 KB record through, a connection that trickles forever does not hold the queue.
SLOW_LINK_BYTES_PER_S = 4096
#: A record body at least this large waits for the server's "100 Continue" before it is sent (every real
#: record is larger: curl's long-standing threshold), so a refusal from the headers alone is always read.
EXPECT_CONTINUE_MIN_BYTES = 1024
#: How long the client waits for "100 Continue" or an early answer before it sends the body anyway.
EXPECT_CONTINUE_WAIT_S = 1.0
_MAX_LINE = 65536


@dataclass(frozen=True)
class Delivery:
    """What became of one attempt to deliver a record.

    Attributes:
        outcome: ``sent``, ``retry``, ``dead`` or ``hold``.
        status: the HTTP status, or None when no answer came (connection error, timeout).
        receipt: the server's receipt (JSON text) when sent.
        retry_after: seconds the server asked to wait (Retry-After), if it did.
        reason: plain words for the log, the outbox's last error and the maintenance screen.
        alert: the technician must look (an unverifiable receipt, a middlebox answering for the service).
    """

    outcome: Outcome
    status: int | None
    receipt: str | None = None
    retry_after: float | None = None
    reason: str = ""
    alert: bool = False


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
            return Delivery(Outcome.RETRY, None, reason=self._describe(exc))
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

    def heartbeat(self, snapshot: Mapping[str, Any]) -> dict[str, Any] | None:
        """``POST /v1/heartbeat`` with a health snapshot (JSON object).

        Returns:
            The office's answer (a JSON object: the time it stored the heartbeat and the service notices in
            force) when it stored the heartbeat, ``{}`` when the answer was no JSON object; None when the
            heartbeat was not stored.
        """
        body = json.dumps(snapshot, sort_keys=True, default=str).encode()
        headers = {**self._auth_headers(), "Content-Type": "application/json"}
        try:
            status, _headers, answer = self._exchange("POST", "/v1/heartbeat", body, headers, self.timeout)
        except (OSError, http.client.HTTPException) as exc:
            log.debug("heartbeat not delivered: %s", self._describe(exc))
            return None
        if status != HTTPStatus.OK:
            log.debug("heartbeat refused with %d", status)
            return None
        try:
            parsed = json.loads(answer or b"{}")
        except (ValueError, UnicodeDecodeError):
            parsed = None
        if not isinstance(parsed, dict):
            log.debug("heartbeat stored, but its answer is not a JSON object")
            return {}
        return parsed

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
            if not _readable(conn.sock, 0):
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
                    response, reusable = self._request(conn, method, path, body, headers)
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
                if response.will_close or not reusable:
                    self._drop()
                return response.status, response.headers, data
            except (OSError, http.client.HTTPException) as exc:
                self._drop()
                if self._deadline.fired:
                    raise RequestAborted(f"no complete answer within {budget:.0f} s") from exc
                raise

    def _request(
        self,
        conn: http.client.HTTPConnection,
        method: str,
        path: str,
        body: bytes | None,
        headers: dict[str, str],
    ) -> tuple[http.client.HTTPResponse, bool]:
        """Send the request; the server's final answer (its body not read yet) and whether the connection
        can carry another request.

        A large body waits for "100 Continue" (module docstring): an early final answer is returned without
        the body ever being sent, and the connection is not reused (it is mid-request for the server).
        """
        if body is None or len(body) < EXPECT_CONTINUE_MIN_BYTES:
            conn.request(method, self._prefix + path, body=body, headers=headers)
            return conn.getresponse(), True
        conn.putrequest(method, self._prefix + path, skip_accept_encoding=True)
        for name, value in {**headers, "Content-Length": str(len(body)), "Expect": "100-continue"}.items():
            conn.putheader(name, value)
        conn.endheaders()
        early = self._interim_answer(conn)
        if early is not None:
            return early, False
        conn.send(body)
        # http.client skips any "100 Continue" still to come before the final answer.
        return conn.getresponse(), True

    def _interim_answer(self, conn: http.client.HTTPConnection) -> http.client.HTTPResponse | None:
        """After headers with ``Expect: 100-continue``: None to send the body, or the server's early answer.

        Waits up to :data:`EXPECT_CONTINUE_WAIT_S` for the server to speak. "100 Continue" is consumed here;
        a final answer is parsed by ``http.client`` from the same buffered reader, so no byte is lost.
        """
        sock = conn.sock
        assert sock is not None
        pending_tls = isinstance(sock, ssl.SSLSocket) and sock.pending() > 0
        if not pending_tls and not _readable(sock, EXPECT_CONTINUE_WAIT_S):
            return None
        response = conn.response_class(sock, method="POST")
        previous = sock.gettimeout()
        sock.settimeout(EXPECT_CONTINUE_WAIT_S)
        try:
            # Readable may be TLS housekeeping (session tickets) and no answer at all: then send the body.
            head = response.fp.peek(12)[:12]
        except TimeoutError:
            return None
        finally:
            sock.settimeout(previous)
        if not head:
            raise http.client.RemoteDisconnected("the server closed the connection before answering")
        if head.split(b" ")[1:2] == [b"100"]:
            response.fp.readline(_MAX_LINE)
            http.client.parse_headers(response.fp)
            response.close()  # its reader only; the socket stays open for the body
            return None
        response.begin()
        return response

    def _check_receipt(self, item: OutboxItem, status: int, body: bytes) -> Delivery:
        """A 200/201 is a delivery only with the office service's signed receipt for exactly this record.

        Anything else (no receipt, another record's, a forged or unsigned one, no pinned key to check it with)
        keeps the sealed copy: the record may well be stored, and a retry gets the genuine receipt through the
        server's de-duplication. The reason says "receipt", so the technician sees it as an alert.
        """
        if self._ack_key is None:
            return Delivery(
                Outcome.RETRY,
                status,
                reason=f"{RECEIPT_ALERT}: no [server] ack_verify_key to check it with",
                alert=True,
            )
        try:
            verify_receipt(
                body, self._ack_key, record_id=item.record_id, kiosk_id=self.kiosk_id, sha256=item.sha256
            )
        except ReceiptError as exc:
            log.error(
                "record %s: %s (%s); the record stays on this kiosk", item.record_id, RECEIPT_ALERT, exc
            )
            return Delivery(Outcome.RETRY, status, reason=f"{RECEIPT_ALERT}: {exc}", alert=True)
        return Delivery(Outcome.SENT, status, receipt=body.decode("utf-8"))

    def _classify(
        self, item: OutboxItem, status: int, headers: http.client.HTTPMessage, body: bytes
    ) -> Delivery:
        if status in (HTTPStatus.OK, HTTPStatus.CREATED):
            return self._check_receipt(item, status, body)
        problem = parse_problem(headers.get("Content-Type"), body, status=status)
        said = f": {problem.detail}" if problem is not None and problem.detail else ""
        if status in CREDENTIAL_REJECTIONS:
            return Delivery(
                Outcome.HOLD, status, reason=f"the server rejected this kiosk's credentials ({status}{said})"
            )
        if problem is not None and problem.permanent and problem.record_id == item.record_id:
            if status == HTTPStatus.REQUEST_ENTITY_TOO_LARGE:
                reason = f"the record is too large for the server ({status}{said})"
            else:
                reason = f"the server rejected the record ({status}{said})"
            return Delivery(Outcome.DEAD, status, reason=reason)
        retry_after = parse_retry_after(headers.get("Retry-After"), self._clock())
        if status in (408, 409, 425, 429) or status >= 500:
            return Delivery(
                Outcome.RETRY,
                status,
                retry_after=retry_after,
                reason=f"the server is busy or failing ({status}{said})",
            )
        # Not the service's own word (a proxy, a captive portal, a wrong URL): never dead, but a long wait and
        # a technician's look.
        return Delivery(
            Outcome.RETRY,
            status,
            retry_after=max(retry_after or 0.0, FOREIGN_REJECTION_BACKOFF_S),
            reason=f"answer {status} did not come from the ingest service{said}; check [server] url, network",
            alert=True,
        )

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


def _readable(sock: socket.socket, timeout: float) -> bool:
    """Whether ``sock`` has something to read within ``timeout`` seconds.

    ``selectors`` (poll/epoll) rather than ``select.select``, which fails with "filedescriptor out of range"
    once the process holds more than 1024 descriptors.
    """
    with selectors.DefaultSelector() as selector:
        selector.register(sock, selectors.EVENT_READ)
        return bool(selector.select(timeout))
