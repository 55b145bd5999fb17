"""A loopback HTTP proxy that breaks the kiosk's connection to the ingest server on purpose.

It sits between the kiosk's sync client and the ingest server and, request by request, either forwards
faithfully or plays one of the failures a rural office network produces::

    pass            forward the request and the response unchanged
    refuse          close the listening socket: new connections are refused (ECONNREFUSED)
    timeout         accept and read the request, never answer (the client's timeout must fire)
    reset           read half the request body, then reset the connection (RST); nothing reaches the server
    drop_response   forward the request (the server commits), then drop the connection instead of answering
    status          answer with a given status (500, 503 + Retry-After, 429, 400, 401, ...) without forwarding
    slow            forward, but trickle the response (and, with ``upload``, the request body) a few bytes
                    at a time

Switch faults at run time with :meth:`FaultProxy.set_fault`, for every request or only the next ``count``
ones; :meth:`FaultProxy.set_chaos` picks a random fault per request (the torture script). The proxy counts
what it did (:attr:`FaultProxy.applied`) so a test can check a fault was really exercised.

From the command line (the control port takes ``POST /fault`` with a JSON fault and ``GET /stats``)::

    python scripts/fault_proxy.py --upstream http://127.0.0.1:8443 --port 9443 --control-port 9444
    curl -X POST 127.0.0.1:9444/fault -d '{"kind": "status", "status": 503, "retry_after": "7", "count": 3}'
"""

from __future__ import annotations

import argparse
import collections
import contextlib
import http.client
import json
import logging
import random
import socket
import struct
import sys
import threading
import urllib.parse
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Literal

from kiosk.protocol import PROBLEM_CONTENT_TYPE, Problem, parse_idempotency_key

log = logging.getLogger("fault_proxy")

FaultKind = Literal["pass", "refuse", "timeout", "reset", "drop_response", "status", "slow"]
KINDS: tuple[str, ...] = FaultKind.__args__  # type: ignore[attr-defined]

# Headers that belong to one connection, not to the message (RFC 9110 section 7.6.1).
_HOP_BY_HOP = frozenset(
    {"connection", "keep-alive", "proxy-authenticate", "proxy-authorization", "te", "trailer",
     "transfer-encoding", "upgrade", "content-length", "host", "expect"}
)  # fmt: skip
#: Longest a ``timeout`` fault holds a connection when nobody switches the fault back.
MAX_HOLD_S = 300.0


@dataclass(frozen=True)
class Fault:
    """What the proxy does to a request. Build one with the class methods."""

    kind: FaultKind = "pass"
    #: ``status``: the status code to answer.
    status: int = 0
    #: ``status``: the Retry-After header to send (seconds or an HTTP-date), if any.
    retry_after: str | None = None
    #: ``slow``: seconds between two pieces.
    delay: float = 0.0
    #: ``slow``: bytes per piece.
    chunk: int = 0
    #: ``slow``: trickle the request body too, not only the response.
    upload: bool = False
    #: ``status``: answer as the ingest service itself would reject the record (a permanent problem document
    #: naming it), instead of a middlebox's plain page.
    problem: bool = False

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"unknown fault {self.kind!r} (known: {', '.join(KINDS)})")
        if self.kind == "status" and not 100 <= self.status <= 599:
            raise ValueError("a status fault needs a status code between 100 and 599")
        if self.kind == "slow" and (self.delay <= 0 or self.chunk <= 0):
            raise ValueError("a slow fault needs a positive delay and chunk size")

    @classmethod
    def passthrough(cls) -> Fault:
        return cls("pass")

    @classmethod
    def refused(cls) -> Fault:
        return cls("refuse")

    @classmethod
    def timeout(cls) -> Fault:
        return cls("timeout")

    @classmethod
    def reset(cls) -> Fault:
        return cls("reset")

    @classmethod
    def drop_response(cls) -> Fault:
        return cls("drop_response")

    @classmethod
    def answer(cls, status: int, retry_after: str | float | None = None) -> Fault:
        """Answer ``status`` (with ``Retry-After`` when given) instead of forwarding."""
        return cls("status", status=status, retry_after=None if retry_after is None else str(retry_after))

    @classmethod
    def rejection(cls, status: int) -> Fault:
        """Reject the record as the service would: a permanent problem document naming it."""
        return cls("status", status=status, problem=True)

    @classmethod
    def slow(cls, delay: float = 0.05, chunk: int = 64, *, upload: bool = False) -> Fault:
        """Forward, trickling the response ``chunk`` bytes every ``delay`` seconds (the request too if
        ``upload``)."""
        return cls("slow", delay=delay, chunk=chunk, upload=upload)

    @property
    def label(self) -> str:
        """Short name used in the statistics, e.g. ``status:503``."""
        if self.kind == "status":
            return f"{'problem' if self.problem else 'status'}:{self.status}"
        return self.kind


class FaultProxy:
    """The proxy (see the module docstring). Use as a context manager or call start()/stop()."""

    def __init__(
        self, upstream: str, *, host: str = "127.0.0.1", port: int = 0, upstream_timeout: float = 30.0
    ):
        parsed = urllib.parse.urlsplit(upstream)
        if parsed.scheme != "http" or not parsed.hostname:
            raise ValueError(f"upstream must be an http:// URL, not {upstream!r}")
        self.upstream = (parsed.hostname, parsed.port or 80)
        self.upstream_timeout = upstream_timeout
        self._host = host
        self._port = port
        self._lock = threading.Condition()
        self._fault = Fault()
        self._remaining: int | None = None
        self._chaos: tuple[Sequence[Fault], float, random.Random] | None = None
        # Set when the fault changes or the proxy stops: held ``timeout`` connections let go.
        self._release = threading.Event()
        self._stopped = threading.Event()
        self._connections: set[socket.socket] = set()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        #: How many requests each fault (by :attr:`Fault.label`) was applied to; ``pass`` included.
        self.applied: collections.Counter[str] = collections.Counter()
        #: How many requests reached the upstream server.
        self.forwarded = 0
        #: How many client connections were accepted (a keep-alive client opens few).
        self.connections_accepted = 0

    # -- life cycle --------------------------------------------------------------------------------------

    def start(self) -> FaultProxy:
        """Bind and serve on a background thread; with port 0 the chosen port is kept for restarts."""
        self._listen()
        return self

    def stop(self) -> None:
        """Stop serving, let held connections go and reset open ones (idempotent)."""
        self._stopped.set()
        self._release.set()
        self._close_listener()
        self._abort_connections()

    def __enter__(self) -> FaultProxy:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    @property
    def port(self) -> int:
        return self._port

    @property
    def url(self) -> str:
        """Base URL the kiosk should use, e.g. ``http://127.0.0.1:40123``."""
        return f"http://{self._host}:{self._port}"

    # -- faults --------------------------------------------------------------------------------------------

    @property
    def fault(self) -> Fault:
        """The fault applied to the next request (ignoring chaos)."""
        with self._lock:
            return self._fault

    def set_fault(self, fault: Fault, *, count: int | None = None) -> None:
        """Apply ``fault`` to every following request, or to the next ``count`` requests and then pass.

        ``refuse`` takes effect at once for new connections and resets open ones; it cannot take a count
        (a refused connection never becomes a request). Any change releases connections held by ``timeout``.
        """
        if fault.kind == "refuse" and count is not None:
            raise ValueError("refuse applies until the fault is changed; it takes no count")
        if count is not None and count < 1:
            raise ValueError("count must be at least 1")
        with self._lock:
            was_refusing = self._fault.kind == "refuse"
            self._fault, self._remaining, self._chaos = fault, count, None
            release, self._release = self._release, threading.Event()
        release.set()
        if fault.kind == "refuse" and not was_refusing:
            with self._lock:
                self.applied["refuse"] += 1
                self._lock.notify_all()
            self._close_listener()
            self._abort_connections()
        elif was_refusing and fault.kind != "refuse" and not self._stopped.is_set():
            self._listen()

    def set_chaos(
        self, faults: Sequence[Fault], probability: float, rng: random.Random | None = None
    ) -> None:
        """Give each request, with ``probability``, a fault picked at random from ``faults``; else pass."""
        if any(f.kind == "refuse" for f in faults):
            raise ValueError("refuse cannot be picked per request; use set_fault")
        self.set_fault(Fault())
        with self._lock:
            self._chaos = (tuple(faults), probability, rng or random.Random())

    def wait_applied(self, label: str, count: int = 1, timeout: float = 10.0) -> bool:
        """Wait until the fault ``label`` was applied ``count`` times in all; False on timeout."""
        with self._lock:
            return self._lock.wait_for(lambda: self.applied[label] >= count, timeout)

    def stats(self) -> dict[str, Any]:
        """What the proxy did so far."""
        with self._lock:
            return {
                "fault": asdict(self._fault),
                "applied": dict(self.applied),
                "forwarded": self.forwarded,
                "connections_accepted": self.connections_accepted,
            }

    def _take_fault(self) -> tuple[Fault, threading.Event]:
        """The fault for the request that just arrived, counted."""
        with self._lock:
            fault = self._fault
            if self._chaos is not None:
                faults, probability, rng = self._chaos
                if rng.random() < probability:
                    fault = rng.choice(faults)
            elif self._remaining is not None:
                self._remaining -= 1
                if self._remaining <= 0:
                    self._fault, self._remaining = Fault(), None
            self.applied[fault.label] += 1
            self._lock.notify_all()
            return fault, self._release

    # -- sockets -------------------------------------------------------------------------------------------

    def _listen(self) -> None:
        server = _QuietServer((self._host, self._port), _ProxyHandler)
        server.daemon_threads = True
        server.proxy = self  # type: ignore[attr-defined]
        self._port = server.server_address[1]
        # A short poll interval: shutdown() (switching to ``refuse``, stop) waits for the loop to notice.
        thread = threading.Thread(target=server.serve_forever, args=(0.05,), name="fault-proxy", daemon=True)
        with self._lock:
            self._server, self._thread = server, thread
        thread.start()

    def _close_listener(self) -> None:
        with self._lock:
            server, thread, self._server, self._thread = self._server, self._thread, None, None
        if server is not None:
            server.shutdown()
            server.server_close()
        if thread is not None:
            thread.join()

    def _track(self, sock: socket.socket, add: bool) -> None:
        with self._lock:
            if add:
                self._connections.add(sock)
                self.connections_accepted += 1
            else:
                self._connections.discard(sock)

    def _abort_connections(self) -> None:
        with self._lock:
            connections = list(self._connections)
        for sock in connections:
            _reset(sock)


def _reset(sock: socket.socket) -> None:
    """Make the peer see a TCP reset: linger 0, then shut the socket down for good."""
    with contextlib.suppress(OSError):
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        sock.shutdown(socket.SHUT_RDWR)


class _QuietServer(ThreadingHTTPServer):
    """Connections reset by either side are this proxy's daily bread: no traceback for them."""

    daemon_threads = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        log.debug("connection from %s ended: %r", client_address, sys.exc_info()[1])


class _ProxyHandler(BaseHTTPRequestHandler):
    """One client connection; each request on it gets the fault current when it arrives."""

    protocol_version = "HTTP/1.1"
    timeout = 60.0
    disable_nagle_algorithm = True
    server: ThreadingHTTPServer
    _upstream: http.client.HTTPConnection | None = None

    @property
    def proxy(self) -> FaultProxy:
        return self.server.proxy  # type: ignore[attr-defined]

    def setup(self) -> None:
        super().setup()
        self.proxy._track(self.connection, True)

    def finish(self) -> None:
        self.proxy._track(self.connection, False)
        if self._upstream is not None:
            self._upstream.close()
        with contextlib.suppress(OSError):
            super().finish()

    def log_message(self, format: str, *args: Any) -> None:
        log.debug("%s %s", self.address_string(), format % args)

    def do_GET(self) -> None:
        self._relay()

    do_POST = do_PUT = do_DELETE = do_HEAD = do_GET

    def _relay(self) -> None:
        fault, release = self.proxy._take_fault()
        length = int(self.headers.get("Content-Length") or 0)
        if fault.kind in ("refuse", "reset"):
            # ``refuse`` here means the fault switched while this connection was open: it breaks too.
            self.rfile.read(length // 2)
            self._abort()
            return
        body = self._read(length, fault)
        if fault.kind == "timeout":
            release.wait(MAX_HOLD_S)
            self.close_connection = True
            return
        if fault.kind == "status":
            self._answer(fault)
            return
        try:
            status, reason, headers, data = self._forward(body)
        except (OSError, http.client.HTTPException) as exc:
            log.debug("upstream failed: %r", exc)
            self.close_connection = True
            self.send_error(HTTPStatus.BAD_GATEWAY, "the ingest server did not answer")
            return
        if fault.kind == "drop_response":
            self._abort()
            return
        head = [f"HTTP/1.1 {status} {reason}\r\n"]
        head += [f"{name}: {value}\r\n" for name, value in headers if name.lower() not in _HOP_BY_HOP]
        head.append(f"Content-Length: {len(data)}\r\n\r\n")
        self._write(b"".join(line.encode("latin-1") for line in head) + data, fault)

    def _read(self, length: int, fault: Fault) -> bytes:
        if fault.kind != "slow" or not fault.upload:
            return self.rfile.read(length)
        pieces = []
        while length > 0:
            piece = self.rfile.read(min(fault.chunk, length))
            if not piece or self.proxy._stopped.wait(fault.delay):
                break
            pieces.append(piece)
            length -= len(piece)
        return b"".join(pieces)

    def _write(self, data: bytes, fault: Fault) -> None:
        if fault.kind != "slow":
            self.wfile.write(data)
            return
        for start in range(0, len(data), fault.chunk):
            if self.proxy._stopped.wait(fault.delay):
                self._abort()
                return
            self.wfile.write(data[start : start + fault.chunk])

    def _forward(self, body: bytes) -> tuple[int, str, list[tuple[str, str]], bytes]:
        """Send the request upstream on this connection's own keep-alive upstream connection."""
        if self._upstream is None:
            self._upstream = http.client.HTTPConnection(
                *self.proxy.upstream, timeout=self.proxy.upstream_timeout
            )
        headers = {name: value for name, value in self.headers.items() if name.lower() not in _HOP_BY_HOP}
        try:
            self._upstream.request(self.command, self.path, body=body, headers=headers)
            response = self._upstream.getresponse()
            data = response.read()
        except (OSError, http.client.HTTPException):
            self._upstream.close()
            raise
        if response.will_close:
            self._upstream.close()
        with self.proxy._lock:
            self.proxy.forwarded += 1
        return response.status, response.reason, response.getheaders(), data

    def _answer(self, fault: Fault) -> None:
        if fault.problem:
            record_id = parse_idempotency_key(self.headers.get("Idempotency-Key"))
            detail = f"fault proxy rejected the record with {fault.status}"
            problem = Problem(fault.status, "injected", "Record rejected", detail, record_id, permanent=True)
            data, content_type = problem.to_json(), PROBLEM_CONTENT_TYPE
        else:
            # A middlebox's page, as a proxy or captive portal sends it: never the service's problem document.
            page = f"<html><body><h1>{fault.status}</h1>fault proxy answered {fault.status}</body></html>"
            data = page.encode()
            content_type = "text/html; charset=utf-8"
        self.send_response(fault.status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        if fault.retry_after is not None:
            self.send_header("Retry-After", fault.retry_after)
        self.end_headers()
        self.wfile.write(data)

    def _abort(self) -> None:
        self.close_connection = True
        _reset(self.connection)


# ---------------------------------------------------------------------------------------------------- CLI


def fault_from_json(data: dict[str, Any]) -> tuple[Fault, int | None]:
    """A fault and optional count from the control port's JSON, e.g. ``{"kind": "timeout", "count": 2}``."""
    data = dict(data)
    count = data.pop("count", None)
    if data.get("retry_after") is not None:
        data["retry_after"] = str(data["retry_after"])
    return Fault(**data), count


@contextlib.contextmanager
def control_server(proxy: FaultProxy, host: str, port: int) -> Iterator[ThreadingHTTPServer]:
    """Serve the control API (``POST /fault``, ``GET /stats``) for ``proxy`` on a background thread."""

    class Control(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: Any) -> None:
            log.debug("control: " + format, *args)

        def _send(self, status: int, payload: dict[str, Any]) -> None:
            data = json.dumps(payload).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_GET(self) -> None:
            if self.path == "/stats":
                self._send(200, proxy.stats())
            else:
                self._send(404, {"error": "GET /stats or POST /fault"})

        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            if self.path != "/fault":
                self._send(404, {"error": "GET /stats or POST /fault"})
                return
            try:
                fault, count = fault_from_json(json.loads(body))
                proxy.set_fault(fault, count=count)
            except (ValueError, TypeError) as exc:
                self._send(400, {"error": str(exc)})
                return
            self._send(200, proxy.stats())

    server = ThreadingHTTPServer((host, port), Control)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, name="fault-proxy-control", daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()


def main(argv: list[str] | None = None) -> int:
    """Run the proxy until interrupted."""
    parser = argparse.ArgumentParser(prog="fault_proxy.py", description=__doc__.split("\n\n")[0])
    parser.add_argument("--upstream", required=True, help="ingest server base URL (http://host:port)")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0, help="port for the kiosk (0 = any free port)")
    parser.add_argument("--control-port", type=int, default=0, help="port of the control API (0 = any)")
    parser.add_argument("--fault", default="{}", help='initial fault as JSON, e.g. \'{"kind": "timeout"}\'')
    parser.add_argument("-v", "--verbose", action="store_true")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.INFO)
    try:
        fault, count = fault_from_json(json.loads(args.fault))
    except (ValueError, TypeError) as exc:
        parser.error(f"--fault: {exc}")
    with FaultProxy(args.upstream, host=args.host, port=args.port) as proxy:
        if fault.kind != "pass":
            proxy.set_fault(fault, count=count)
        with control_server(proxy, args.host, args.control_port) as control:
            print(f"proxy on {proxy.url} -> {args.upstream}", flush=True)
            print(f"control on http://{args.host}:{control.server_address[1]}", flush=True)
            with contextlib.suppress(KeyboardInterrupt):
                threading.Event().wait()
    return 0


if __name__ == "__main__":
    sys.exit(main())
