"""What the kiosk knows about itself right now, kept up to date from the main loop's events.

:class:`KioskState` is the one place that turns events into decisions: device health changes, the UPS's
power events (fed to the :class:`~kiosk.power_policy.PowerPolicy`, which it also ticks, so a low battery
starts the shutdown whatever is on screen), the sync worker's status, a stop request (SIGTERM, SIGINT).
From them it produces the :class:`~kiosk.journey.Capabilities` the journey adapts to and a
:class:`StatusView` the UI renders. The main loop owns one and feeds it every event before any scene sees
it; the UI decides nothing. Every way the kiosk stops passes here: the power policy's shutdown (started by
:meth:`KioskState.tick`), SIGTERM and SIGINT (:class:`~kiosk.events.StopRequested`), and maintenance's
restart, reboot and power-off, which systemd carries out by sending SIGTERM to the kiosk.

    state = KioskState(kiosk.devices, kiosk.power_policy)
    for event in events.drain():
        state.apply(event)
    state.tick()
    journey.update_capabilities(state.capabilities())
    if state.stop_requested:
        ...  # leave the loop; the caller runs the clean shutdown sequence

No pygame here, no UI import (tests/test_architecture.py checks it). Not thread-safe: the main loop's
thread only.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from typing import Protocol

from hal.device import Device, HealthStatus
from hal.events import BatteryLow, DeviceHealthChanged, Event, MainsLost, MainsRestored, ShutdownButtonPressed
from kiosk.devices import OFF, device_status
from kiosk.events import RecordSaved, StopRequested, SyncStatusChanged
from kiosk.journey import Capabilities
from kiosk.power_policy import PowerPolicy
from kiosk.status_view import Network, StatusView

log = logging.getLogger(__name__)

#: Sync worker states that mean the server cannot be reached right now.
_OFFLINE_STATES = frozenset({"waiting", "offline"})
#: Sync worker states that mean the server answered.
_ONLINE_STATES = frozenset({"idle", "sending"})

#: Why no new session starts when the kiosk's storage is full (the UI translates it).
STORAGE_FULL = "storage_full"


class StorageRoom(Protocol):
    """What :meth:`kiosk.outbox.Outbox.room` answers: whether one more citizen's record fits."""

    @property
    def accepts_new_session(self) -> bool: ...

    @property
    def reason(self) -> str: ...


class KioskState:
    """Device health, power, network and queue as last reported, and what follows from them.

    Args:
        devices: ``(name, device)`` pairs (a :class:`~kiosk.devices.Devices` iterates as such). Each
            device's current health is read once here; afterwards only events change it.
        power_policy: The kiosk's power policy: fed the power events, ticked, asked whether new sessions
            may start.
        storage_room: Asks the outbox whether one more record fits (:meth:`kiosk.outbox.Outbox.room`);
            asked at start and whenever the queue changed (a record saved, a sync pass). None: never full.
    """

    def __init__(
        self,
        devices: Iterable[tuple[str, Device]],
        power_policy: PowerPolicy,
        *,
        storage_room: Callable[[], StorageRoom] | None = None,
    ) -> None:
        self.power_policy = power_policy
        self.health: dict[str, str] = {name: device_status(device) for name, device in devices}
        self.network = Network.UNKNOWN
        self.pending = 0
        self.dead = 0
        #: Set when the outbox cannot take another record: new sessions are refused before a citizen types
        #: anything, never after they typed everything.
        self.storage_full = False
        self._storage_room = storage_room
        self._check_storage()
        #: SIGTERM, SIGINT or another part of the kiosk asked it to stop: the main loop leaves.
        self.stop_requested = False
        self.stop_reason = ""

    # -- events -------------------------------------------------------------------------------------
    def apply(self, event: Event) -> bool:
        """Take one event into account; True when it changed anything the UI shows."""
        before = self.view()
        if isinstance(event, MainsLost | MainsRestored | BatteryLow | ShutdownButtonPressed):
            self.power_policy.handle(event)
        elif isinstance(event, DeviceHealthChanged):
            # A device switched off stays "off": only a device that exists can change its health.
            if self.health.get(event.device) != OFF:
                self.health[event.device] = event.status
        elif isinstance(event, SyncStatusChanged):
            self._sync_status(event)
            self._check_storage()
        elif isinstance(event, RecordSaved):
            self._check_storage()
        elif isinstance(event, StopRequested):
            self.request_stop(event.reason)
        return self.view() != before

    def _sync_status(self, event: SyncStatusChanged) -> None:
        self.pending = event.pending
        self.dead = event.dead
        if event.state in _OFFLINE_STATES:
            self.network = Network.OFFLINE
        elif event.state in _ONLINE_STATES:
            self.network = Network.ONLINE

    def _check_storage(self) -> None:
        """Ask the outbox whether one more record fits; log the technician's reason when that changes."""
        if self._storage_room is None:
            return
        room = self._storage_room()
        full = not room.accepts_new_session
        if full != self.storage_full:
            if full:
                log.warning("new sessions refused: %s", room.reason)
            else:
                log.info("storage has room again: new sessions accepted")
        self.storage_full = full

    def request_stop(self, reason: str) -> None:
        """Ask the main loop to leave (it then runs the clean shutdown sequence)."""
        if not self.stop_requested:
            log.info("stop requested: %s", reason)
        self.stop_requested = True
        self.stop_reason = self.stop_reason or reason

    def tick(self, now: float | None = None) -> bool:
        """Let the power policy start the shutdown when it is time (once per loop iteration).

        Returns:
            True when this call started the shutdown sequence.
        """
        return self.power_policy.tick(now)

    # -- what follows ---------------------------------------------------------------------------------
    def works(self, device: str) -> bool:
        """Whether ``device`` exists and has not failed (degraded still serves)."""
        return self.health.get(device, OFF) not in (OFF, str(HealthStatus.FAILED))

    def refusal(self) -> str | None:
        """Why a new session would be refused now (a code the UI translates), or None."""
        power = self.power_policy.status()
        if power.refusal is not None:
            return str(power.refusal)
        if self.storage_full:
            return STORAGE_FULL
        return None

    def capabilities(self) -> Capabilities:
        """The snapshot the journey adapts to."""
        refusal = self.refusal()
        return Capabilities(
            camera_ok=self.works("camera"),
            signature_pad_ok=self.works("signature_pad"),
            printer_ok=self.works("printer"),
            # Unknown counts as working: the receipt only promises "sent later" when we know it is not.
            network_ok=self.network is not Network.OFFLINE,
            on_battery=self.power_policy.status().on_battery,
            sessions_allowed=refusal is None,
            refusal_reason=refusal,
        )

    def view(self) -> StatusView:
        """The status bar's content."""
        power = self.power_policy.status()
        return StatusView(
            network=self.network,
            on_battery=power.on_battery,
            battery_percent=power.battery_percent,
            sessions_refused=self.refusal() is not None,
            pending=self.pending,
            dead=self.dead,
            health=tuple(sorted(self.health.items())),
        )
