"""The maintenance dashboard's data: one snapshot of everything a technician checks first.

:func:`take_snapshot` reads every device's health (without touching the hardware), the outbox's records per
state and the age of the oldest undelivered one, the sync worker's last result, the battery, the free space
of the data partition, the firmware version and the uptimes. A part that cannot be read (a damaged outbox,
say) is reported in :attr:`DashboardSnapshot.problems` and the rest is still shown: the dashboard is most
needed exactly when something is broken.

It is cheap and thread-safe (every source it reads is), so the sync worker's heartbeat may send
:meth:`DashboardSnapshot.as_dict` as its health snapshot too. Nothing personal is in it.
"""

from __future__ import annotations

import dataclasses
import shutil
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from kiosk import __version__
from kiosk.devices import OFF, switched_off

if TYPE_CHECKING:
    from hal.device import Device
    from hal.power import PowerSource
    from kiosk.outbox import Outbox
    from kiosk.sync import SyncWorker


@dataclass(frozen=True)
class DeviceLine:
    """One device on the dashboard."""

    name: str
    backend: str
    #: ``ok``, ``degraded``, ``failed`` or ``off``.
    status: str
    #: The last problem in plain words ("" when all is well).
    detail: str


@dataclass(frozen=True)
class SyncLine:
    """The sync worker's last result."""

    #: ``idle``, ``sending``, ``waiting``, ``held`` or ``stopped``.
    state: str
    last_error: str | None
    #: When a record was last delivered (seconds since the epoch), if ever.
    last_sent_at: float | None
    #: When the worker tries next after a failure (seconds since the epoch), if it is waiting.
    next_attempt_at: float | None


@dataclass(frozen=True)
class BatteryLine:
    """What the UPS last reported."""

    on_battery: bool
    percent: float | None
    volts: float | None


@dataclass(frozen=True)
class DashboardSnapshot:
    """Everything the dashboard shows, at one moment."""

    #: Seconds since the epoch.
    taken_at: float
    devices: tuple[DeviceLine, ...]
    #: Records per outbox state (every state, zeros included); empty when the outbox cannot be read.
    records: Mapping[str, int]
    oldest_pending_age_s: float | None
    sync: SyncLine | None
    battery: BatteryLine | None
    disk_free_bytes: int | None
    disk_total_bytes: int | None
    version: str
    app_uptime_s: float
    system_uptime_s: float | None
    #: Parts that could not be read, in plain words.
    problems: tuple[str, ...] = ()

    @property
    def failed_devices(self) -> tuple[DeviceLine, ...]:
        """The devices that do not work at all."""
        return tuple(d for d in self.devices if d.status == "failed")

    def as_dict(self) -> dict[str, Any]:
        """Plain JSON-ready data (for the heartbeat and for logs)."""
        return dataclasses.asdict(self) | {"records": dict(self.records)}


def take_snapshot(
    *,
    devices: Iterable[tuple[str, Device]],
    outbox: Outbox | None,
    sync: SyncWorker | None,
    power: PowerSource | None,
    data_dir: Path,
    started_at: float,
    clock: Callable[[], float] = time.monotonic,
    wall_clock: Callable[[], float] = time.time,
    version: str = __version__,
) -> DashboardSnapshot:
    """Read everything the dashboard shows.

    Args:
        devices: ``(name, device)`` pairs, null objects for those switched off (:class:`kiosk.devices.Devices`
            iterates like this).
        outbox: The outbox, if it could be opened.
        sync: The sync worker, if there is one.
        power: The power monitor, if there is one (its last reading; the I2C bus is not touched).
        data_dir: The data directory, whose partition's free space is shown.
        started_at: When the kiosk app started, on ``clock``.
        clock: Monotonic seconds.
        wall_clock: Seconds since the epoch.
        version: The firmware version.
    """
    problems: list[str] = []
    lines = []
    for name, device in devices:
        if switched_off(device):
            lines.append(DeviceLine(name, "none", OFF, "switched off in the config"))
            continue
        health = device.health()
        lines.append(DeviceLine(name, device.backend, str(health.status), health.detail))

    records: dict[str, int] = {}
    oldest = None
    if outbox is not None:
        try:
            records = dict(outbox.counts())
            oldest = outbox.oldest_pending_age()
        except Exception as exc:  # noqa: BLE001 - a broken outbox is a finding, not a reason to show nothing
            problems.append(f"outbox: {exc}")
    else:
        problems.append("outbox: not open")

    sync_line = None
    if sync is not None:
        status = sync.status()
        sync_line = SyncLine(status.state, status.last_error, status.last_sent_at, status.next_attempt_at)

    battery = None
    if power is not None and not switched_off(power):
        reading = power.reading()
        battery = BatteryLine(reading.on_battery, reading.percent, reading.volts)

    free = total = None
    try:
        usage = shutil.disk_usage(data_dir)
        free, total = usage.free, usage.total
    except OSError as exc:
        problems.append(f"disk: {data_dir}: {exc.strerror}")

    return DashboardSnapshot(
        taken_at=wall_clock(),
        devices=tuple(lines),
        records=records,
        oldest_pending_age_s=oldest,
        sync=sync_line,
        battery=battery,
        disk_free_bytes=free,
        disk_total_bytes=total,
        version=version,
        app_uptime_s=max(0.0, clock() - started_at),
        system_uptime_s=_system_uptime(),
        problems=tuple(problems),
    )


def _system_uptime() -> float | None:
    """Seconds since the machine booted (CLOCK_BOOTTIME counts suspended time too), where Linux has it."""
    boottime = getattr(time, "CLOCK_BOOTTIME", None)
    if boottime is None:
        return None
    try:
        return time.clock_gettime(boottime)
    except OSError:
        return None
