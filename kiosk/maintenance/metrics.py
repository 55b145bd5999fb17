"""A small metrics table for the maintenance chart: queue depth per state and battery charge over time.

The main loop calls :meth:`Metrics.sample_if_due` on every tick; every ``interval_s`` (5 minutes by default)
it stores one sample per series. Samples older than :data:`RETENTION_S` (7 days) are deleted as new ones
arrive, so the table stays a few thousand rows. The chart asks :meth:`Metrics.last_24h`.

Series names: ``queue.<state>`` for each outbox state (``queue.pending``, ``queue.dead``, ...) and
``battery.percent``. Numbers only: nothing personal can end up here.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Protocol

from kiosk.maintenance.store import MaintenanceStore

log = logging.getLogger(__name__)

#: Samples are kept this long.
RETENTION_S = 7 * 24 * 3600.0
DAY_S = 24 * 3600.0
BATTERY_PERCENT = "battery.percent"
QUEUE_PREFIX = "queue."


class SupportsCounts(Protocol):
    """What the metrics need of the outbox."""

    def counts(self) -> dict[str, int]: ...


class SupportsReading(Protocol):
    """What the metrics need of the power monitor (``reading().percent``)."""

    def reading(self): ...


@dataclass(frozen=True)
class MetricPoint:
    """One sample of a series."""

    #: Seconds since the epoch.
    at: float
    value: float


class Metrics:
    """The metrics table.

    Args:
        store: The maintenance database.
        interval_s: Time between two samples taken by :meth:`sample_if_due`.
        clock: Seconds since the epoch (injected by tests).
    """

    def __init__(
        self, store: MaintenanceStore, *, interval_s: float = 300.0, clock: Callable[[], float] = time.time
    ) -> None:
        if interval_s <= 0:
            raise ValueError("interval_s must be positive")
        self._store = store
        self.interval_s = interval_s
        self._clock = clock
        with store.use("reading the metrics") as db:
            last = db.execute("SELECT max(at) FROM metric_samples").fetchone()[0]
        # Carry the schedule over a restart, so a crash loop does not write a sample per start.
        self._last_sample: float | None = last

    def record(self, values: Mapping[str, float | None], now: float | None = None) -> int:
        """Store one sample per series (None values are skipped) and drop samples past the retention.

        Returns:
            How many values were stored.
        """
        now = self._clock() if now is None else now
        rows = [
            {"at": now, "name": str(name), "value": float(value)}
            for name, value in values.items()
            if value is not None
        ]
        with self._store.use("writing the metrics") as db, db.atomic():
            if rows:
                db["metric_samples"].insert_all(rows)
            db.execute("DELETE FROM metric_samples WHERE at < ?", [now - RETENTION_S])
        self._last_sample = now
        return len(rows)

    def sample_if_due(self, read: Callable[[], Mapping[str, float | None]], now: float | None = None) -> bool:
        """Take a sample when ``interval_s`` has passed since the last one; True when one was stored.

        ``read`` is called only when a sample is due. A failure (of ``read`` or of the database) is logged and
        retried at the next interval: the chart must never take the kiosk down.
        """
        now = self._clock() if now is None else now
        last = self._last_sample
        # A clock that jumped back (no RTC, time server reached) must not stop sampling for days.
        if last is not None and 0 <= now - last < self.interval_s:
            return False
        try:
            self.record(read(), now)
        except Exception as exc:  # noqa: BLE001 - a broken outbox or gauge must not stop the main loop
            log.warning("metrics sample skipped: %s", exc)
            self._last_sample = now
            return False
        return True

    def series(self, name: str, *, since: float, until: float | None = None) -> list[MetricPoint]:
        """Samples of one series between ``since`` and ``until`` (default: now), oldest first."""
        until = self._clock() if until is None else until
        with self._store.use("reading the metrics") as db:
            rows = db.execute(
                "SELECT at, value FROM metric_samples WHERE name = ? AND at >= ? AND at <= ? ORDER BY at",
                [name, since, until],
            ).fetchall()
        return [MetricPoint(at, value) for at, value in rows]

    def last_24h(self, now: float | None = None) -> dict[str, list[MetricPoint]]:
        """Every series over the last 24 hours, by name, for the maintenance chart."""
        now = self._clock() if now is None else now
        with self._store.use("reading the metrics") as db:
            rows = db.execute(
                "SELECT name, at, value FROM metric_samples WHERE at >= ? AND at <= ? ORDER BY name, at",
                [now - DAY_S, now],
            ).fetchall()
        chart: dict[str, list[MetricPoint]] = {}
        for name, at, value in rows:
            chart.setdefault(name, []).append(MetricPoint(at, value))
        return chart


def queue_and_battery(
    outbox: SupportsCounts | None, power: SupportsReading | None
) -> Callable[[], dict[str, float | None]]:
    """The usual ``read`` for :meth:`Metrics.sample_if_due`: outbox counts per state, battery charge."""

    def read() -> dict[str, float | None]:
        values: dict[str, float | None] = {}
        if outbox is not None:
            values.update({QUEUE_PREFIX + state: float(n) for state, n in outbox.counts().items()})
        if power is not None:
            values[BATTERY_PERCENT] = power.reading().percent
        return values

    return read
