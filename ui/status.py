"""What the kiosk knows about its devices, power and queue, kept up to date from events.

The composition root hands over the devices; their health changes, the UPS's power events and
the sync worker's status arrive as events on the main loop's queue. From them this module builds
the :class:`~kiosk.journey.Capabilities` the journey adapts to, and the status bar's items.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from hal.device import HealthStatus
from hal.events import BatteryLow, DeviceHealthChanged, Event, MainsLost, MainsRestored
from kiosk.events import SyncStatusChanged
from kiosk.journey import Capabilities
from ui.i18n import N_, Translator
from ui.widgets.status_bar import StatusItem

_ONLINE = N_("Online")
_OFFLINE = N_("Offline: saved here, sent later")
_NETWORK_UNKNOWN = N_("Connecting…")
_MAINS = N_("Mains power")
_BATTERY = N_("On battery")
_BATTERY_PERCENT = N_("On battery {percent}%")
_WAITING_NONE = N_("All registrations sent")
_WAITING = N_("{count} waiting to be sent")

#: Sync worker states that mean the server cannot be reached right now.
_OFFLINE_STATES = frozenset({"waiting", "offline"})


class KioskStatus:
    """Device health, power and queue as last reported.

    Args:
        devices: ``name -> device`` (None = switched off in the config). Each device's current
            health is read once here; afterwards only events change it.
        session_reserve_percent: Battery charge a whole session needs; below it, on battery, no
            new session starts (only used without a power policy).
        power_policy: The kiosk's :class:`~kiosk.power_policy.PowerPolicy`; when given, it is fed the
            power events and decides whether new sessions may start.
    """

    def __init__(
        self,
        devices: Mapping[str, Any],
        *,
        session_reserve_percent: float = 10.0,
        power_policy: Any = None,
    ) -> None:
        self.power_policy = power_policy
        self.health: dict[str, str] = {}
        for name, device in devices.items():
            if device is None:
                self.health[name] = "off"
            else:
                self.health[name] = str(device.health().status)
        power = devices.get("power")
        self.on_battery = bool(getattr(power, "on_battery", False)) if power is not None else False
        percent = getattr(power, "battery_percent", None) if power is not None else None
        self.battery_percent: float | None = percent if isinstance(percent, int | float) else None
        self.battery_low = False
        self.session_reserve_percent = session_reserve_percent
        #: None until the sync worker has said something.
        self.network_ok: bool | None = None
        self.pending = 0
        self.dead = 0
        self.shutting_down = False

    def apply(self, event: Event) -> bool:
        """Take one event into account; True when it changed anything."""
        before = self._snapshot()
        if self.power_policy is not None and isinstance(event, MainsLost | MainsRestored | BatteryLow):
            self.power_policy.handle(event)
        if isinstance(event, DeviceHealthChanged):
            self.health[event.device] = event.status
        elif isinstance(event, MainsLost):
            self.on_battery = True
        elif isinstance(event, MainsRestored):
            self.on_battery = False
            self.battery_low = False
        elif isinstance(event, BatteryLow):
            self.battery_low = True
            if event.percent is not None:
                self.battery_percent = event.percent
        elif isinstance(event, SyncStatusChanged):
            self.pending = event.pending
            self.dead = event.dead
            if event.state in _OFFLINE_STATES:
                self.network_ok = False
            elif event.state in ("idle", "sending"):
                self.network_ok = True
        else:
            return False
        return self._snapshot() != before

    def tick(self) -> None:
        """Let the power policy start a shutdown when it is time (once per loop iteration)."""
        if self.power_policy is not None:
            self.power_policy.tick()

    def _power(self) -> tuple[bool, float | None, str | None]:
        """(on battery, charge, refusal code) from the power policy, or from the events seen."""
        if self.power_policy is not None:
            status = self.power_policy.status()
            return status.on_battery, status.battery_percent, str(status.refusal) if status.refusal else None
        reserve_short = (
            self.on_battery
            and self.battery_percent is not None
            and self.battery_percent < self.session_reserve_percent
        )
        refusal = None
        if self.shutting_down:
            refusal = "shutting_down"
        elif self.battery_low or reserve_short:
            refusal = "battery_low"
        return self.on_battery, self.battery_percent, refusal

    def _snapshot(self) -> tuple:
        return (
            self._power(),
            tuple(sorted(self.health.items())),
            self.on_battery,
            self.battery_percent,
            self.battery_low,
            self.network_ok,
            self.pending,
            self.dead,
            self.shutting_down,
        )

    def works(self, device: str) -> bool:
        """Whether ``device`` exists and has not failed (degraded still serves)."""
        return self.health.get(device, "off") not in ("off", str(HealthStatus.FAILED))

    def capabilities(self) -> Capabilities:
        """The snapshot the journey adapts to."""
        on_battery, _percent, refusal = self._power()
        return Capabilities(
            camera_ok=self.works("camera"),
            signature_pad_ok=self.works("signature_pad"),
            printer_ok=self.works("printer"),
            # Unknown counts as working: the receipt only promises "sent later" when we know it is not.
            network_ok=self.network_ok is not False,
            on_battery=on_battery,
            sessions_allowed=refusal is None,
            refusal_reason=refusal,
        )

    def items(self, tr: Translator) -> list[StatusItem]:
        """The status bar's items in the current language."""
        items = []
        on_battery, percent, refusal = self._power()
        if self.network_ok is None:
            items.append(StatusItem("network", tr(_NETWORK_UNKNOWN), "muted"))
        elif self.network_ok:
            items.append(StatusItem("network", tr(_ONLINE), "ok"))
        else:
            items.append(StatusItem("network", tr(_OFFLINE), "warning"))
        if on_battery:
            text = (
                tr(_BATTERY_PERCENT).format(percent=round(percent)) if percent is not None else tr(_BATTERY)
            )
            items.append(StatusItem("power", text, "error" if refusal else "warning"))
        else:
            items.append(StatusItem("power", tr(_MAINS), "ok"))
        if self.pending:
            items.append(StatusItem("queue", tr(_WAITING).format(count=self.pending), "muted"))
        else:
            items.append(StatusItem("queue", tr(_WAITING_NONE), "ok"))
        return items
