"""uvicorn around the office application: in the foreground (``dukcapil-office serve``) or on a thread.

::

    server = OfficeServer(Settings(database=db_path, keys=key_path), port=0)   # bound at once
    with server.running():                         # serving on a background thread
        post_to(server.url)                        # e.g. http://127.0.0.1:41234
        server.store.count()

The socket is bound in the constructor, so ``port=0`` picks a free port known before serving starts.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import os
import resource
import signal
import socket
import threading
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import uvicorn
from starlette.middleware import Middleware
from starlette.routing import BaseRoute
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from office import db
from office.app import Settings, create_app
from office.store import ReceivedRecord, Store

#: Seconds an idle keep-alive connection stays open.
KEEP_ALIVE_S = 30
#: Connections and requests served at once before new ones get 503 (each costs a file descriptor).
DEFAULT_CONCURRENCY = 4000
#: Seconds from a connection's start (or a new request's first byte) to the end of its headers.
HEADER_TIMEOUT_S = 20.0


class HeaderTimeoutProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol with a deadline for the request headers.

    uvicorn times out idle keep-alive connections but not one that connects and then trickles its headers a
    byte at a time (or sends nothing): enough of those hold every connection slot. Here the headers must be
    complete within :attr:`header_timeout_s` of the connection or of the request's first byte, else the
    connection is closed. nginx in front does the same (``client_header_timeout``); this holds without it.
    """

    header_timeout_s = HEADER_TIMEOUT_S
    _header_timer: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._arm_header_timer()

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm_header_timer()
        super().connection_lost(exc)

    def on_message_begin(self) -> None:
        super().on_message_begin()
        if self._header_timer is None:
            self._arm_header_timer()

    def on_headers_complete(self) -> None:
        self._disarm_header_timer()
        super().on_headers_complete()

    def _arm_header_timer(self) -> None:
        self._header_timer = self.loop.call_later(self.header_timeout_s, self._headers_too_slow)

    def _disarm_header_timer(self) -> None:
        if self._header_timer is not None:
            self._header_timer.cancel()
            self._header_timer = None

    def _headers_too_slow(self) -> None:
        self._header_timer = None
        if not self.transport.is_closing():
            self.transport.close()


def protocol_with_header_timeout(seconds: float) -> type[HeaderTimeoutProtocol]:
    """:class:`HeaderTimeoutProtocol` with its own deadline."""
    return type("HeaderTimeoutProtocol", (HeaderTimeoutProtocol,), {"header_timeout_s": seconds})


class ServerFailed(RuntimeError):
    """The service did not start (its reason was logged: e.g. the schema is not current)."""


class _Server(uvicorn.Server):
    """uvicorn's server, telling another thread when it is up (or that it gave up)."""

    def __init__(self, config: uvicorn.Config) -> None:
        super().__init__(config)
        self.up = threading.Event()

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await super().startup(sockets)
        self.up.set()


class OfficeServer:
    """The office service bound to ``host:port`` (``port=0``: a free one), not yet serving.

    Args:
        settings: what the application runs with (database, keys, limits).
        host: address to listen on.
        port: port, 0 for any free one (see :attr:`url`).
        tls_cert: certificate chain (PEM) to serve HTTPS; with ``tls_key``.
        tls_key: the certificate's private key.
        limit_concurrency: connections and tasks at once before uvicorn answers 503.
        header_timeout_s: seconds a client has to send its request headers.
        extra_routes: more routes (the counter's pages).
        extra_middleware: more middleware.
        sock: an already bound listening socket to serve on instead (host and port are then ignored).
    """

    def __init__(
        self,
        settings: Settings,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        tls_cert: str | Path | None = None,
        tls_key: str | Path | None = None,
        limit_concurrency: int = DEFAULT_CONCURRENCY,
        header_timeout_s: float = HEADER_TIMEOUT_S,
        extra_routes: Sequence[BaseRoute] = (),
        extra_middleware: Sequence[Middleware] = (),
        sock: socket.socket | None = None,
    ) -> None:
        self.settings = settings
        self.app = create_app(settings, extra_routes=extra_routes, extra_middleware=extra_middleware)
        self.scheme = "https" if tls_cert else "http"
        self.socket = sock or _listen(host, port)
        _raise_fd_limit()
        self.config = uvicorn.Config(
            self.app,
            # httptools (llhttp) parses strictly: duplicate or malformed Content-Length is refused with 400
            # before the application sees it (office.limits checks again, for any other server).
            http=protocol_with_header_timeout(header_timeout_s),
            lifespan="on",
            log_config=None,
            access_log=False,
            timeout_keep_alive=KEEP_ALIVE_S,
            limit_concurrency=limit_concurrency,
            ssl_certfile=str(tls_cert) if tls_cert else None,
            ssl_keyfile=str(tls_key) if tls_key else None,
        )
        self._server = _Server(self.config)
        self._thread: threading.Thread | None = None

    @property
    def store(self) -> Store:
        """The service's store (shared with the application)."""
        return self.app.state.store

    @property
    def port(self) -> int:
        return self.socket.getsockname()[1]

    @property
    def url(self) -> str:
        """Base URL, e.g. ``http://127.0.0.1:41234``."""
        host = self.socket.getsockname()[0]
        return f"{self.scheme}://{host}:{self.port}"

    def records(self) -> list[ReceivedRecord]:
        """Every received record, opened (:meth:`office.store.Store.records`)."""
        return self.store.records()

    def serve_forever(self) -> None:
        """Serve in this thread until :meth:`stop` (or SIGINT/SIGTERM on the main thread).

        Raises:
            ServerFailed: the application did not start (the schema is not current, the database is
                unreachable, ...).
        """
        try:
            self._server.run(sockets=[self.socket])
        except SystemExit as exc:
            # uvicorn exits the process when the application does not start; here it is an error to report.
            raise ServerFailed("the office service did not start (see the log above)") from exc
        finally:
            self.socket.close()
        if not self._server.started:
            raise ServerFailed("the office service did not start (see the log above)")

    def stop(self) -> None:
        """Ask the server to finish (from any thread)."""
        self._server.should_exit = True

    @contextlib.contextmanager
    def running(self) -> Iterator[OfficeServer]:
        """Serve on a background thread for the ``with`` block, then stop and close."""
        failure: list[BaseException] = []

        def serve() -> None:
            try:
                self.serve_forever()
            except BaseException as exc:  # handed to the waiting thread
                failure.append(exc)
            finally:
                self._server.up.set()

        self._thread = threading.Thread(target=serve, name="office-server", daemon=True)
        self._thread.start()
        self._server.up.wait()
        if failure or not self._server.started:
            self._thread.join()
            raise failure[0] if failure else ServerFailed("the office service did not start")
        try:
            yield self
        finally:
            self.stop()
            self._thread.join()


def _listen(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
        sock.listen(2048)
    except OSError:
        sock.close()
        raise
    sock.set_inheritable(True)
    return sock


def _raise_fd_limit() -> None:
    """Lift the soft open-files limit to the hard one: each connection is a file descriptor, and running
    out of them makes accept() fail for everyone (the old server spun a core retrying it)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft != hard:
        with contextlib.suppress(ValueError, OSError):
            resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


def serve_processes(
    settings: Settings,
    workers: int,
    *,
    host: str = "127.0.0.1",
    port: int = 0,
    announce: Callable[[str], None] = print,
    **kwargs: Any,
) -> int:
    """Run ``workers`` service processes on one listening socket (pre-fork); returns the exit status.

    One process is one Python interpreter lock: on an office PC with several cores, several processes share
    the work (the kernel hands each new connection to one of them). The schema is migrated (or checked)
    once, here, before the processes start. SIGTERM or SIGINT stops them all; if one dies, the others are
    stopped too and the status is 1 (systemd then restarts the whole service).

    Args:
        settings: what every process runs with.
        workers: how many processes.
        host: address to listen on.
        port: port, 0 for any free one.
        announce: called with the URL once the socket listens and the processes are started.
        kwargs: more :class:`OfficeServer` options (TLS, limits).
    """
    sock = _listen(host, port)
    engine = db.make_engine(settings.database)
    try:
        (db.migrate if settings.migrate else db.check_schema)(engine)
    finally:
        engine.dispose()
    url = f"{'https' if kwargs.get('tls_cert') else 'http'}://{host}:{sock.getsockname()[1]}"
    children: set[int] = set()
    for _ in range(workers):
        pid = os.fork()
        if pid == 0:  # the child serves until told to stop, and never returns into the caller's code
            status = 1
            try:
                OfficeServer(
                    dataclasses.replace(settings, migrate=False), sock=sock, **kwargs
                ).serve_forever()
                status = 0
            finally:
                os._exit(status)
        children.add(pid)
    sock.close()
    announce(url)  # the socket listens (connections wait in its backlog) and every process exists

    def stop_all(_signum: int = signal.SIGTERM, _frame: object = None) -> None:
        for child in children:
            with contextlib.suppress(ProcessLookupError):
                os.kill(child, signal.SIGTERM)

    signal.signal(signal.SIGTERM, stop_all)
    signal.signal(signal.SIGINT, stop_all)
    status = 0
    while children:
        pid, code = os.wait()
        children.discard(pid)
        if code != 0 and status == 0:
            status = 1
            stop_all()
    return status
