"""The office service's ASGI application (Starlette): the kiosk's ingest protocol, plus mounted pages.

::

    app = create_app(Settings(database="office.sqlite3", keys=Path("server.key")))
    # uvicorn office.server ... (see office.server and `dukcapil-office serve`)

Endpoints (the design guide's "Ingest protocol"; :mod:`kiosk.protocol` holds the receipt and problem format):

- ``POST /v1/records``: body = sealed blob; ``Authorization: Bearer <token>``, ``Idempotency-Key:
  "<uuid>"``, ``X-Kiosk-Id``, ``X-Record-SHA256``. 201 + signed receipt (new), 200 + the same receipt
  (repeat with the same hash); problem documents: 400 malformed, 401 unknown token, 403 another kiosk's
  token or a revoked kiosk, 408 body too slow, 411 no Content-Length, 413 over ``max_body`` (answered from
  the headers, without reading the body), 422 signature or key reuse, 429 rate limit (``Retry-After``).
- ``GET /v1/health``: ``{"status": "ok", "time": ...}``; with a kiosk's headers, ``credentials``
  ``"accepted"`` or ``"rejected"`` and why.
- ``POST /v1/heartbeat``: a JSON object (the kiosk's health snapshot), kept as a bounded history per kiosk.

Pages mount through ``extra_routes`` and ``extra_middleware``; they find the :class:`office.store.Store` at
``request.app.state.store`` and the :class:`Settings` at ``request.app.state.settings``.
"""

from __future__ import annotations

import contextlib
import datetime
import json
import logging
import math
import re
import time
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass, field
from functools import partial
from http import HTTPStatus
from pathlib import Path
from typing import Any, TypeVar

import anyio
import anyio.to_thread
from sqlalchemy.exc import OperationalError
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import ClientDisconnect, Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route
from starlette.types import Receive, Scope, Send

from kiosk.protocol import parse_idempotency_key
from office import db
from office.ingest import Answer, ingest_record
from office.keys import ServerKeys
from office.limits import Rate, RateLimiter, StrictHeaders
from office.notices import notices_for_kiosks
from office.store import KioskRow, Store, rfc3339
from office.web import page_routes

log = logging.getLogger("office.ingest")

#: Largest record body accepted (a 200 KB photo + signature PNG + pen samples fit many times over).
DEFAULT_MAX_BODY = 8 * 1024 * 1024
#: Largest heartbeat snapshot accepted.
MAX_HEARTBEAT_BODY = 64 * 1024
#: After an early answer (401, 413, ...), how long and how much of the unread body is drained before
#: closing: closing with unread data makes the kernel reset the connection, and the reset can reach the
#: kiosk before it has read the answer.
LINGER_S = 2.0
LINGER_MAX_BYTES = DEFAULT_MAX_BODY

_SHA256_HEX = re.compile(r"^[0-9a-f]{64}$")
T = TypeVar("T")


@dataclass
class Settings:
    """What the service runs with.

    Attributes:
        database: a SQLite file path or a database URL (``postgresql://...``).
        keys: the server key file, or its path.
        max_body: largest record accepted, in bytes.
        record_rate: per kiosk, records per second and burst (a kiosk draining a backlog fits well below).
        heartbeat_rate: per kiosk, heartbeats per second and burst.
        db_workers: database and crypto jobs run at once (more requests wait for a slot).
        body_timeout_s: seconds a request body may take to arrive.
        heartbeat_history: heartbeats kept per kiosk: 2,100 covers the fleet page's 7-day chart at one
            heartbeat every 5 minutes (2,016), with a margin.
        migrate: apply pending migrations at start-up; False = refuse to start unless the schema is current.
        clock: wall clock (seconds since the epoch) for receipts and rows.
        monotonic: clock for the rate limits.
    """

    database: str | Path
    keys: ServerKeys | Path | str
    max_body: int = DEFAULT_MAX_BODY
    record_rate: Rate = field(default_factory=lambda: Rate(per_second=100.0, burst=1000))
    heartbeat_rate: Rate = field(default_factory=lambda: Rate(per_second=0.1, burst=10))
    db_workers: int = 16
    body_timeout_s: float = 60.0
    heartbeat_history: int = 2100
    migrate: bool = True
    clock: Callable[[], float] = time.time
    monotonic: Callable[[], float] = time.monotonic

    def server_keys(self) -> ServerKeys:
        """The key file, loaded when given as a path."""
        return self.keys if isinstance(self.keys, ServerKeys) else ServerKeys.load(Path(self.keys))


class EarlyAnswer(Response):
    """An answer sent before the request body was read, followed by a bounded lingering close.

    The whole answer goes out first (the kiosk can read it as soon as its own write is done), then up to
    :data:`LINGER_MAX_BYTES` of the body still arriving are read and dropped for at most :data:`LINGER_S`,
    then the connection closes. A client that sent ``Expect: 100-continue`` never sent the body: nothing
    is drained (reading would tell it to send).
    """

    def __init__(self, answer: Answer, *, drain: bool, headers: dict[str, str] | None = None) -> None:
        super().__init__(
            answer.body,
            status_code=answer.status,
            headers={**(headers or {}), "Connection": "close"},
            media_type=answer.content_type,
        )
        self._drain = drain

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await send({"type": "http.response.start", "status": self.status_code, "headers": self.raw_headers})
        await send({"type": "http.response.body", "body": self.body, "more_body": True})
        if self._drain:
            drained = 0
            with anyio.move_on_after(LINGER_S):
                while drained < LINGER_MAX_BYTES:
                    message = await receive()
                    drained += len(message.get("body", b""))
                    if message["type"] != "http.request" or not message.get("more_body"):
                        break
        await send({"type": "http.response.body", "body": b"", "more_body": False})


def _answer(answer: Answer, headers: dict[str, str] | None = None) -> Response:
    if answer.status == HTTPStatus.UNAUTHORIZED:
        headers = {**(headers or {}), "WWW-Authenticate": 'Bearer realm="dukcapil-office"'}
    return Response(answer.body, answer.status, headers=headers, media_type=answer.content_type)


def _early(request: Request, answer: Answer, headers: dict[str, str] | None = None) -> Response:
    """``answer`` for a request whose body is left unread."""
    if answer.status == HTTPStatus.UNAUTHORIZED:
        headers = {**(headers or {}), "WWW-Authenticate": 'Bearer realm="dukcapil-office"'}
    expects = request.headers.get("expect", "").lower() == "100-continue"
    has_body = request.headers.get("content-length", "0") != "0" or "transfer-encoding" in request.headers
    return EarlyAnswer(answer, drain=has_body and not expects, headers=headers)


class IngestService:
    """The three kiosk endpoints over one store, with their limits."""

    def __init__(self, settings: Settings, store: Store) -> None:
        self.settings = settings
        self.store = store
        self.limiter = RateLimiter(settings.monotonic)
        self.slots = anyio.CapacityLimiter(settings.db_workers)

    def routes(self) -> list[BaseRoute]:
        return [
            Route("/v1/health", self.health, methods=["GET"]),
            Route("/v1/records", self.post_record, methods=["POST"]),
            Route("/v1/heartbeat", self.post_heartbeat, methods=["POST"]),
        ]

    async def _run(self, func: Callable[..., T], *args: Any) -> T:
        """Blocking work (database, crypto) on a worker thread, at most ``db_workers`` at once."""
        return await anyio.to_thread.run_sync(partial(func, *args), limiter=self.slots)

    async def _authenticate(self, request: Request) -> tuple[KioskRow | None, Answer | None]:
        """The kiosk behind the bearer token and X-Kiosk-Id, or the 401/403 answer."""
        scheme, _, token = request.headers.get("authorization", "").partition(" ")
        token = token.strip()
        kiosk = (
            await self._run(self.store.kiosk_for_token, token)
            if scheme.lower() == "bearer" and token
            else None
        )
        if kiosk is None:
            return None, Answer.error(HTTPStatus.UNAUTHORIZED, "unknown kiosk token")
        if request.headers.get("x-kiosk-id") != kiosk.kiosk_id:
            return None, Answer.error(
                HTTPStatus.FORBIDDEN, "this token belongs to another kiosk than X-Kiosk-Id"
            )
        if kiosk.revoked:
            return None, Answer.error(
                HTTPStatus.FORBIDDEN, f"kiosk {kiosk.kiosk_id} has been revoked at the office: enrol it anew"
            )
        return kiosk, None

    def _rate_limited(self, kind: str, kiosk: KioskRow, rate: Rate) -> tuple[Answer, dict[str, str]] | None:
        wait = self.limiter.acquire((kind, kiosk.kiosk_id), rate)
        if not wait:
            return None
        retry_after = str(max(1, math.ceil(wait))) if math.isfinite(wait) else "3600"
        return Answer.error(HTTPStatus.TOO_MANY_REQUESTS, f"too many {kind}s from this kiosk"), {
            "Retry-After": retry_after
        }

    @staticmethod
    def _length(request: Request, limit: int, record_id: str | None) -> Answer | None:
        """411 without a Content-Length, 413 over ``limit`` (from the header: the body is not read)."""
        if "content-length" not in request.headers:
            return Answer.error(HTTPStatus.LENGTH_REQUIRED, "send the body with a Content-Length")
        if int(request.headers["content-length"]) > limit:
            return Answer.error(
                HTTPStatus.REQUEST_ENTITY_TOO_LARGE,
                f"body over {limit} bytes: too large",
                record_id=record_id,
                permanent=record_id is not None,
            )
        return None

    async def _body(self, request: Request) -> bytes | Answer | None:
        """The body, a 408 answer when it trickles in too slowly, or None when the client went away."""
        try:
            with anyio.fail_after(self.settings.body_timeout_s):
                return await request.body()
        except TimeoutError:
            return Answer.error(HTTPStatus.REQUEST_TIMEOUT, "the body took too long to arrive")
        except ClientDisconnect:
            return None

    async def health(self, request: Request) -> Response:
        body: dict[str, Any] = {"status": "ok", "time": _rfc3339(self.settings.clock())}
        if request.headers.get("authorization"):
            kiosk, problem = await self._authenticate(request)
            body["credentials"] = "accepted" if kiosk else "rejected"
            if problem:
                body["detail"] = problem.detail
        return Response(json.dumps(body), media_type="application/json")

    async def post_record(self, request: Request) -> Response:
        kiosk, problem = await self._authenticate(request)
        if problem or kiosk is None:
            return _early(request, problem or Answer.error(HTTPStatus.UNAUTHORIZED, "unknown kiosk token"))
        limited = self._rate_limited("record", kiosk, self.settings.record_rate)
        if limited:
            return _early(request, *limited)
        record_id = parse_idempotency_key(request.headers.get("idempotency-key"))
        sha256 = request.headers.get("x-record-sha256", "").strip().lower()
        if record_id is None:
            return _early(
                request, Answer.error(HTTPStatus.BAD_REQUEST, 'Idempotency-Key must be "<record uuid>"')
            )
        if not _SHA256_HEX.match(sha256):
            return _early(
                request, Answer.error(HTTPStatus.BAD_REQUEST, "X-Record-SHA256 must be 64 hex digits")
            )
        if too_long := self._length(request, self.settings.max_body, record_id):
            return _early(request, too_long)
        body = await self._body(request)
        if not isinstance(body, bytes):
            return _early(request, body or Answer.error(HTTPStatus.BAD_REQUEST, "the body was cut short"))
        answer = await self._run(ingest_record, self.store, kiosk, record_id, sha256, body, "http")
        if answer.status == HTTPStatus.CREATED:
            log.info("record %s from %s stored", record_id, kiosk.kiosk_id)
        elif not answer.accepted:
            log.warning("record %s from %s rejected: %s", record_id, kiosk.kiosk_id, answer.detail)
        return _answer(answer)

    async def post_heartbeat(self, request: Request) -> Response:
        kiosk, problem = await self._authenticate(request)
        if problem or kiosk is None:
            return _early(request, problem or Answer.error(HTTPStatus.UNAUTHORIZED, "unknown kiosk token"))
        # Before the body is read or anything stored: a flood costs neither memory nor disk.
        limited = self._rate_limited("heartbeat", kiosk, self.settings.heartbeat_rate)
        if limited:
            return _early(request, *limited)
        if too_long := self._length(request, MAX_HEARTBEAT_BODY, None):
            return _early(request, too_long)
        body = await self._body(request)
        if not isinstance(body, bytes):
            return _early(request, body or Answer.error(HTTPStatus.BAD_REQUEST, "the body was cut short"))
        try:
            text = body.decode("utf-8")
            snapshot = json.loads(text)
        except ValueError:  # UnicodeDecodeError is a ValueError too
            snapshot = None
        if not isinstance(snapshot, dict):
            return _answer(Answer.error(HTTPStatus.BAD_REQUEST, "a heartbeat is a JSON object in UTF-8"))
        # Kept as the kiosk sent it.
        received_at = await self._run(partial(self.store.add_heartbeat, kiosk.kiosk_id, snapshot, text=text))
        # The answer carries today's service notices (office.notices): the kiosk shows them to citizens.
        notices = await self._run(notices_for_kiosks, self.store.engine, self.store.now())
        return Response(
            json.dumps({"received_at": received_at, "notices": notices}), media_type="application/json"
        )


def _rfc3339(seconds: float) -> str:
    return rfc3339(datetime.datetime.fromtimestamp(seconds, tz=datetime.UTC))


async def _not_found(request: Request, exc: Exception) -> Response:
    status = exc.status_code if isinstance(exc, HTTPException) else 404
    answer = Answer.error(status, f"no such resource: {request.method} {request.url.path}")
    return _early(request, answer) if request.method in ("POST", "PUT", "PATCH") else _answer(answer)


async def _database_unavailable(request: Request, exc: Exception) -> Response:
    # The database went away (PostgreSQL restarting, a network cut to it): the kiosk retries after a pause,
    # nothing is lost since nothing was acknowledged.
    log.error("database unavailable: %s", str(exc).splitlines()[0])
    answer = Answer.error(
        HTTPStatus.SERVICE_UNAVAILABLE, "the office database is unavailable; try again later"
    )
    return _early(request, answer, {"Retry-After": "30"})


def create_app(
    settings: Settings,
    *,
    extra_routes: Sequence[BaseRoute] = (),
    extra_middleware: Sequence[Middleware] = (),
) -> Starlette:
    """The office service's application over ``settings.database``.

    The store is made at once (``app.state.store``); the schema is migrated (or checked, with
    ``settings.migrate = False``) when the application starts, before the first request.
    """
    keys = settings.server_keys()
    engine = db.make_engine(settings.database, **_pool(settings))
    store = Store(engine, keys, clock=settings.clock, heartbeat_history=settings.heartbeat_history)
    service = IngestService(settings, store)

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        await anyio.to_thread.run_sync(db.migrate if settings.migrate else db.check_schema, engine)
        try:
            yield
        finally:
            store.close()

    app = Starlette(
        routes=[*service.routes(), *page_routes(), *extra_routes],
        middleware=[Middleware(StrictHeaders), *extra_middleware],
        exception_handlers={404: _not_found, 405: _not_found, OperationalError: _database_unavailable},
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.state.store = store
    app.state.ingest = service
    return app


def _pool(settings: Settings) -> dict[str, Any]:
    # Every worker thread may hold a connection at once; a few more for pages and the test's own reads.
    # Last in, first out: the connection just used is reused while it is hot (SQLite keeps a page cache per
    # connection, and another connection's write invalidates it).
    return {"pool_size": settings.db_workers, "max_overflow": 8, "pool_use_lifo": True}
