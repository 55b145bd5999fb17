"""The service's own limits: strict request headers and per-kiosk rate limits.

nginx in front enforces timeouts and connection limits too (``docs/office.md``), but the service does not
rely on it: a request that reaches it directly is held to the same rules.
"""

from __future__ import annotations

import math
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from starlette.types import ASGIApp, Receive, Scope, Send

from kiosk.protocol import PROBLEM_CONTENT_TYPE, Problem

#: A Content-Length is 1 to 15 ASCII digits and nothing else: no sign, no underscore, no spaces inside.
_CONTENT_LENGTH = re.compile(rb"^[0-9]{1,15}$")


def header_problem(headers: list[tuple[bytes, bytes]]) -> str | None:
    """What is wrong with a request's framing headers (in words), or None when they are sound.

    Refused: more than one Content-Length (even when equal: a proxy may have picked another one than the
    service), a Content-Length that is not plain digits (``+2``, ``1_0``, ``0x10``, ``-1``), and a
    Content-Length together with a Transfer-Encoding (request smuggling).
    """
    lengths = [value for name, value in headers if name.lower() == b"content-length"]
    if len(lengths) > 1:
        return "more than one Content-Length header"
    if lengths and not _CONTENT_LENGTH.match(lengths[0].strip(b" \t")):
        return "Content-Length must be plain decimal digits"
    if lengths and any(name.lower() == b"transfer-encoding" for name, _ in headers):
        return "Content-Length together with Transfer-Encoding"
    return None


class StrictHeaders:
    """ASGI middleware: refuse requests whose framing headers are ambiguous (400 problem document)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and (problem := header_problem(scope["headers"])):
            body = Problem(400, "malformed", "Malformed request", problem).to_json()
            await send(
                {
                    "type": "http.response.start",
                    "status": 400,
                    "headers": [
                        (b"content-type", PROBLEM_CONTENT_TYPE.encode()),
                        (b"content-length", str(len(body)).encode()),
                        # The body's framing is unknown: the connection cannot carry another request.
                        (b"connection", b"close"),
                    ],
                }
            )
            await send({"type": "http.response.body", "body": body})
            return
        await self.app(scope, receive, send)


@dataclass(frozen=True)
class Rate:
    """A token bucket's shape: ``burst`` requests at once, refilled at ``per_second``."""

    per_second: float
    burst: int


class RateLimiter:
    """Token buckets per key (e.g. ``("heartbeat", kiosk_id)``), in this process's memory.

    Several processes each keep their own buckets, so the limit per kiosk is per process: enough to stop a
    flood (which is what it is for) without a shared store on the request path.

    Args:
        clock: a monotonic clock in seconds (tests inject one).
        max_keys: buckets kept; the fullest (idle the longest) are forgotten beyond it, so unknown keys
            cannot grow memory without bound.
    """

    def __init__(self, clock: Callable[[], float] = time.monotonic, *, max_keys: int = 100_000) -> None:
        self._clock = clock
        self._max_keys = max_keys
        self._lock = threading.Lock()
        self._buckets: dict[object, tuple[float, float]] = {}

    def acquire(self, key: object, rate: Rate) -> float:
        """Take one request from ``key``'s bucket: 0.0 when allowed, else the seconds until one is."""
        with self._lock:
            now = self._clock()
            tokens, last = self._buckets.pop(key, (float(rate.burst), now))
            tokens = min(float(rate.burst), tokens + (now - last) * rate.per_second)
            if tokens >= 1.0:
                self._store(key, tokens - 1.0, now)
                return 0.0
            self._store(key, tokens, now)
            return (1.0 - tokens) / rate.per_second if rate.per_second > 0 else math.inf

    def _store(self, key: object, tokens: float, now: float) -> None:
        # dicts keep insertion order and acquire() re-inserts: the first key is the least recently used.
        if len(self._buckets) >= self._max_keys:
            del self._buckets[next(iter(self._buckets))]
        self._buckets[key] = (tokens, now)
