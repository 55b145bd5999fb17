"""The audit log: every attempt to enter maintenance mode and every action taken in it.

A line says when, which maintenance session, what (:class:`AuditAction`), how it ended
(:class:`AuditOutcome`) and a short technical detail ("3 records retried", "camera: failed"). It never holds
personal data: actions are fixed codes, details are written by the firmware, and :func:`scrub` replaces any
long run of digits (a NIK, a KK number, a phone number, a birth date) before a detail is stored, in case an
error message carried one.
"""

from __future__ import annotations

import enum
import re
import time
from collections.abc import Callable
from dataclasses import dataclass

from kiosk.maintenance.store import MaintenanceStore

#: Longest detail kept; longer ones are cut.
MAX_DETAIL_LENGTH = 300

# Six digits or more: NIK and KK numbers (16), phone numbers, DDMMYY dates. Counts such as "12 records" stay,
# and so do compact UTC timestamps (20240131T101500Z), which name bundle files.
_LONG_NUMBER = re.compile(r"\d{8}T\d{6}Z|\d{6,}")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]+")


class AuditAction(enum.StrEnum):
    """What a technician did (or tried)."""

    ENTER = "enter"
    EXIT = "exit"
    SET_PIN = "set_pin"
    VIEW_DASHBOARD = "view_dashboard"
    VIEW_LOGS = "view_logs"
    DEVICE_TEST = "device_test"
    SYNC_NOW = "sync_now"
    RETRY_DEAD = "retry_dead"
    EXPORT = "export"
    NETWORK_PROBE = "network_probe"
    RESTART = "restart"
    REBOOT = "reboot"
    SHUTDOWN = "shutdown"


class AuditOutcome(enum.StrEnum):
    """How it ended."""

    OK = "ok"
    FAILED = "failed"
    #: An entry refused because of the PIN lockout.
    LOCKED = "locked"
    #: Asked of the system and not yet known to have worked (a reboot ends the process that asked).
    REQUESTED = "requested"


@dataclass(frozen=True)
class AuditEntry:
    """One line of the audit log."""

    id: int
    #: Seconds since the epoch.
    at: float
    #: The maintenance session it belongs to (random, short), or "" outside a session.
    session: str
    action: AuditAction
    outcome: AuditOutcome
    detail: str


def scrub(detail: str) -> str:
    """Make ``detail`` safe for the audit log: no long numbers, no control characters, bounded length."""
    text = _LONG_NUMBER.sub(lambda m: m[0] if m[0].endswith("Z") else "[number]", str(detail))
    text = _CONTROL.sub(" ", text).strip()
    if len(text) > MAX_DETAIL_LENGTH:
        text = text[: MAX_DETAIL_LENGTH - 1] + "\u2026"
    return text


class AuditLog:
    """Append-only audit log in the maintenance database.

    Args:
        store: The maintenance database.
        clock: Seconds since the epoch (injected by tests).
    """

    def __init__(self, store: MaintenanceStore, *, clock: Callable[[], float] = time.time) -> None:
        self._store = store
        self._clock = clock

    def record(
        self,
        action: AuditAction | str,
        outcome: AuditOutcome | str,
        detail: str = "",
        *,
        session: str = "",
    ) -> AuditEntry:
        """Append one line; durable when this returns.

        Raises:
            ValueError: ``action`` or ``outcome`` is not a known code.
            MaintenanceStoreError: The database cannot be written.
        """
        action = AuditAction(action)
        outcome = AuditOutcome(outcome)
        at = self._clock()
        clean = scrub(detail)
        with self._store.use("writing the audit log") as db:
            table = db["audit"].insert(
                {
                    "at": at,
                    "session": session,
                    "action": action.value,
                    "outcome": outcome.value,
                    "detail": clean,
                }
            )
            entry_id = table.last_pk
        return AuditEntry(int(entry_id), at, session, action, outcome, clean)

    def recent(self, limit: int = 100, *, action: AuditAction | str | None = None) -> list[AuditEntry]:
        """The newest lines first, optionally of one action only."""
        where, args = (None, None) if action is None else ("action = ?", [AuditAction(action).value])
        with self._store.use("reading the audit log") as db:
            rows = list(db["audit"].rows_where(where, args, order_by="id DESC", limit=max(0, int(limit))))
        return [_entry(row) for row in rows]

    def since(self, at: float) -> list[AuditEntry]:
        """Every line written at or after ``at`` (seconds since the epoch), oldest first."""
        with self._store.use("reading the audit log") as db:
            rows = list(db["audit"].rows_where("at >= ?", [at], order_by="id"))
        return [_entry(row) for row in rows]


def _entry(row: dict) -> AuditEntry:
    return AuditEntry(
        id=row["id"],
        at=row["at"],
        session=row["session"] or "",
        action=AuditAction(row["action"]),
        outcome=AuditOutcome(row["outcome"]),
        detail=row["detail"],
    )
