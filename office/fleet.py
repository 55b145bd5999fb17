"""The fleet: every kiosk's health from its heartbeats, the silent ones, the alerts, a 7-day chart.

A heartbeat carries the kiosk's maintenance snapshot (:meth:`kiosk.maintenance.dashboard.DashboardSnapshot.
as_dict`): ``devices`` (name, backend, status ok/degraded/failed/off, detail), ``records`` per outbox state,
``oldest_pending_age_s``, ``battery`` (on_battery, percent, volts) or null, ``version``, ``problems``; and,
when the kiosk has a maintenance store, ``pin`` (:meth:`kiosk.maintenance.lockout.PinLockout.heartbeat`:
``failed_attempts``, ``lockouts``, ``locked_for_s``, ``blocked``). Anything missing or mistyped shows as
unknown: a kiosk of an older or newer version still gets a line.

A kiosk is *silent* when its last heartbeat is older than ``silent_after`` (default three intervals of 5
minutes). The chart is a server-rendered SVG (no JavaScript): per hour of the last 7 days, whether the kiosk
was heard and its queue depth.
"""

from __future__ import annotations

import datetime
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any
from xml.sax.saxutils import escape

from office.store import HeartbeatRow, KioskRow, Store

SILENT_AFTER = datetime.timedelta(minutes=15)
CHART_DAYS = 7
#: A queue older than this is an alert: records are not reaching the office.
STALE_QUEUE_S = 3600.0
LOW_BATTERY_PERCENT = 30.0
#: The kiosk's devices as the fleet page names them (English source sentences; the pages translate them).
DEVICE_NAMES = {
    "camera": "Camera",
    "signature_pad": "Signature pad",
    "power": "UPS and battery",
    "printer": "Receipt printer",
}
#: The same, inside a sentence ("the camera has failed").
DEVICE_NOUNS = {
    "camera": "camera",
    "signature_pad": "signature pad",
    "power": "UPS",
    "printer": "receipt printer",
}
#: A device's health as the fleet page words it (the kiosk reports ok / degraded / failed / off).
DEVICE_STATUSES = {"ok": "working", "degraded": "limited", "failed": "failed", "off": "switched off"}


@dataclass(frozen=True)
class DeviceHealth:
    """One device as the kiosk last reported it."""

    name: str
    status: str
    detail: str


@dataclass(frozen=True)
class Alert:
    """Something an office must act on; ``message`` is a catalog sentence with ``values``."""

    kiosk_id: str
    severity: str
    message: str
    values: dict[str, str] = field(default_factory=dict)
    #: Keys of ``values`` that are catalog sentences themselves (a device's name), translated with it.
    words: tuple[str, ...] = ()


@dataclass(frozen=True)
class KioskHealth:
    """One kiosk's line on the fleet page."""

    kiosk: KioskRow
    last_heard: datetime.datetime | None
    silent: bool
    devices: tuple[DeviceHealth, ...]
    queue: int | None
    dead: int | None
    oldest_waiting_s: float | None
    on_battery: bool | None
    battery_percent: float | None
    version: str | None
    failed_pin_attempts: int | None
    pin_blocked: bool
    chart_svg: str
    alerts: tuple[Alert, ...]


def _number(value: object) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        return None
    return float(value)


def _devices(snapshot: Mapping[str, Any]) -> tuple[DeviceHealth, ...]:
    devices = snapshot.get("devices")
    if not isinstance(devices, list):
        return ()
    return tuple(
        DeviceHealth(
            str(d.get("name", "?"))[:40], str(d.get("status", "?"))[:16], str(d.get("detail") or "")[:200]
        )
        for d in devices
        if isinstance(d, dict)
    )


def _count(records: object, *states: str) -> int | None:
    if not isinstance(records, dict):
        return None
    values = [_number(records.get(state)) for state in states]
    return int(sum(v for v in values if v is not None)) if any(v is not None for v in values) else None


def kiosk_health(
    kiosk: KioskRow,
    beats: Sequence[HeartbeatRow],
    now: datetime.datetime,
    silent_after: datetime.timedelta = SILENT_AFTER,
    zone: datetime.tzinfo = datetime.UTC,
) -> KioskHealth:
    """One kiosk's line from its heartbeats (oldest first) as of ``now``; times in alerts in ``zone``."""
    # The newest by time, not by row id: a bundle or a restored backup may add rows out of order.
    last = max(beats, key=lambda beat: beat.received_at) if beats else None
    snapshot: Mapping[str, Any] = last.snapshot if last else {}
    battery = snapshot.get("battery") if isinstance(snapshot.get("battery"), dict) else None
    pin = snapshot.get("pin") if isinstance(snapshot.get("pin"), dict) else {}
    pins = _number(pin.get("failed_attempts"))
    health = KioskHealth(
        kiosk=kiosk,
        last_heard=last.received_at if last else None,
        silent=last is None or now - last.received_at > silent_after,
        devices=_devices(snapshot),
        queue=_count(snapshot.get("records"), "pending", "sending"),
        dead=_count(snapshot.get("records"), "dead"),
        oldest_waiting_s=_number(snapshot.get("oldest_pending_age_s")),
        on_battery=bool(battery.get("on_battery")) if battery else None,
        battery_percent=_number(battery.get("percent")) if battery else None,
        version=str(snapshot["version"])[:40] if "version" in snapshot else None,
        failed_pin_attempts=int(pins) if pins is not None else None,
        pin_blocked=pin.get("blocked") is True,
        chart_svg=chart_svg(beats, now),
        alerts=(),
    )
    return _with_alerts(health, zone)


def _with_alerts(h: KioskHealth, zone: datetime.tzinfo) -> KioskHealth:
    kiosk_id = h.kiosk.kiosk_id
    alerts: list[Alert] = []
    if h.kiosk.revoked:
        return KioskHealth(**{**h.__dict__, "alerts": ()})
    if h.last_heard is None:
        alerts.append(Alert(kiosk_id, "warning", "{kiosk} has never sent a heartbeat.", {"kiosk": kiosk_id}))
    elif h.silent:
        alerts.append(
            Alert(
                kiosk_id,
                "critical",
                "{kiosk} is silent since {since}.",
                {"kiosk": kiosk_id, "since": h.last_heard.astimezone(zone).strftime("%d-%m-%Y %H:%M")},
            )
        )
    for device in h.devices:
        if device.status == "failed":
            alerts.append(
                Alert(
                    kiosk_id,
                    "critical",
                    "{kiosk}: the {device} has failed ({detail}).",
                    {
                        "kiosk": kiosk_id,
                        "device": DEVICE_NOUNS.get(device.name, device.name),
                        "detail": device.detail or "-",
                    },
                    words=("device",),
                )
            )
    if h.on_battery:
        alerts.append(Alert(kiosk_id, "warning", "{kiosk} runs on battery.", {"kiosk": kiosk_id}))
    if h.battery_percent is not None and h.battery_percent < LOW_BATTERY_PERCENT:
        alerts.append(Alert(kiosk_id, "critical", "{kiosk}: battery low.", {"kiosk": kiosk_id}))
    if h.dead:
        alerts.append(
            Alert(
                kiosk_id,
                "warning",
                "{kiosk} holds {count} rejected records.",
                {"kiosk": kiosk_id, "count": str(h.dead)},
            )
        )
    if h.oldest_waiting_s is not None and h.oldest_waiting_s > STALE_QUEUE_S:
        alerts.append(
            Alert(
                kiosk_id,
                "warning",
                "{kiosk}: a record waits for {hours} hours.",
                {"kiosk": kiosk_id, "hours": f"{h.oldest_waiting_s / 3600:.1f}"},
            )
        )
    if h.pin_blocked:
        alerts.append(
            Alert(
                kiosk_id,
                "critical",
                "{kiosk}: maintenance entry blocked after repeated wrong PINs (run kiosk set-pin there).",
                {"kiosk": kiosk_id},
            )
        )
    elif h.failed_pin_attempts:
        alerts.append(
            Alert(
                kiosk_id,
                "warning",
                "{kiosk}: {count} wrong maintenance PINs.",
                {"kiosk": kiosk_id, "count": str(h.failed_pin_attempts)},
            )
        )
    return KioskHealth(**{**h.__dict__, "alerts": tuple(alerts)})


def fleet(
    store: Store, silent_after: datetime.timedelta = SILENT_AFTER, zone: datetime.tzinfo = datetime.UTC
) -> list[KioskHealth]:
    """Every enrolled kiosk's line, as of the store's clock (times in alerts in ``zone``)."""
    now = store.now()
    since = now - datetime.timedelta(days=CHART_DAYS)
    beats: dict[str, list[HeartbeatRow]] = {}
    for beat in store.heartbeats(since=since):
        beats.setdefault(beat.kiosk_id, []).append(beat)
    return [kiosk_health(k, beats.get(k.kiosk_id, []), now, silent_after, zone) for k in store.kiosks()]


def chart_svg(beats: Sequence[HeartbeatRow], now: datetime.datetime, days: int = CHART_DAYS) -> str:
    """An inline SVG: one column per hour of the last ``days`` days; green = heard, height = queue depth."""
    hours = days * 24
    width, height, top = hours * 2, 40, 4
    start = now - datetime.timedelta(hours=hours)
    heard = [False] * hours
    queue = [0] * hours
    for beat in beats:
        slot = int((beat.received_at - start).total_seconds() // 3600)
        if 0 <= slot < hours:
            heard[slot] = True
            depth = _count(beat.snapshot.get("records"), "pending", "sending") or 0
            queue[slot] = max(queue[slot], depth)
    peak = max(queue) or 1
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" viewBox="0 0 {width} {height + top}" '
        f'width="{width}" height="{height + top}" role="img">',
        f"<title>{escape(f'{days} days: heartbeats per hour and queue depth (peak {max(queue)})')}</title>",
    ]
    for slot in range(hours):
        x = slot * 2
        colour = "#2e7d32" if heard[slot] else "#e0e0e0"
        parts.append(f'<rect x="{x}" y="{height}" width="2" height="{top}" fill="{colour}"/>')
        if queue[slot]:
            bar = max(1, round(queue[slot] / peak * (height - 2)))
            parts.append(f'<rect x="{x}" y="{height - bar}" width="2" height="{bar}" fill="#1565c0"/>')
    for day in range(1, days):
        x = day * 48
        parts.append(
            f'<line x1="{x}" y1="0" x2="{x}" y2="{height + top}" stroke="#9e9e9e" stroke-width="0.5"/>'
        )
    parts.append("</svg>")
    return "".join(parts)
