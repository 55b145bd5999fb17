"""Today's service notices from the office: "e-KTP recording: the recorder is broken today".

The office answers every heartbeat with the notices in force (``{"received_at": ..., "notices": [...]}``,
each ``{"id", "service", "level": "unavailable" | "limited", "text": {"id", "en"}, "expires_at"}``). The
sync worker hands that answer to :meth:`ServiceNotices.update` (on its own thread); the service choice screen
and the receipt read :meth:`ServiceNotices.for_service` (on the UI thread)::

    notices = ServiceNotices()
    notices.update(answer)                        # sync worker, after each heartbeat
    for notice in notices.for_service("ektp"):    # UI: a line on the service's button, a line on the receipt
        notice.text("id"), notice.unavailable

The office's list replaces the kiosk's at every answer (a withdrawn notice disappears with the next
heartbeat); an answer without a ``notices`` key (an older office) changes nothing. Each notice expires by
itself at its ``expires_at`` (the end of the office's day), so a kiosk that goes offline does not show
yesterday's notice tomorrow. Entries that do not parse are skipped: the office's data never crashes the kiosk.
"""

from __future__ import annotations

import datetime
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

LEVELS = ("unavailable", "limited")
_MAX_TEXT = 200


@dataclass(frozen=True)
class ServiceNotice:
    """One notice about a counter service."""

    id: int
    service: str
    level: str
    texts: Mapping[str, str]
    #: Seconds since the epoch when it ends.
    expires_at: float

    @property
    def unavailable(self) -> bool:
        """The service is not available today (as opposed to limited)."""
        return self.level == "unavailable"

    def text(self, language: str) -> str:
        """The notice in ``language`` (``"id"`` or ``"en"``), Bahasa Indonesia when missing."""
        return self.texts.get(language) or self.texts.get("id") or next(iter(self.texts.values()), "")


def _parse(entry: Any) -> ServiceNotice | None:
    if not isinstance(entry, Mapping):
        return None
    try:
        texts = entry["text"]
        expires = datetime.datetime.fromisoformat(str(entry["expires_at"]))
        notice = ServiceNotice(
            id=int(entry["id"]),
            service=str(entry["service"]),
            level=str(entry["level"]),
            texts={
                lang: " ".join(str(value).split())[:_MAX_TEXT]
                for lang, value in texts.items()
                if lang in ("id", "en") and str(value).strip()
            },
            expires_at=expires.timestamp() if expires.tzinfo else float("-inf"),
        )
    except (KeyError, TypeError, ValueError, AttributeError):
        return None
    return notice if notice.level in LEVELS and notice.texts else None


class ServiceNotices:
    """The notices the office sent last, minus the expired ones. Thread-safe.

    Args:
        clock: seconds since the epoch (the kiosk's wall clock; tests inject one).
    """

    def __init__(self, clock: Callable[[], float] = time.time) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        self._notices: tuple[ServiceNotice, ...] = ()

    def update(self, answer: Mapping[str, Any] | None) -> bool:
        """Take the notices from a heartbeat answer; True when the answer carried a list."""
        if not isinstance(answer, Mapping) or not isinstance(answer.get("notices"), list):
            return False
        parsed = tuple(n for n in (_parse(entry) for entry in answer["notices"]) if n is not None)
        with self._lock:
            self._notices = parsed
        return True

    def current(self) -> tuple[ServiceNotice, ...]:
        """Every notice still in force."""
        now = self._clock()
        with self._lock:
            return tuple(n for n in self._notices if n.expires_at > now)

    def for_service(self, service_id: str) -> tuple[ServiceNotice, ...]:
        """The notices in force for one service, "unavailable" ones first."""
        notices = [n for n in self.current() if n.service == service_id]
        return tuple(sorted(notices, key=lambda n: (not n.unavailable, n.id)))
