"""KioskState: events in, capabilities and the status view out; the power policy fed and ticked; stops."""

from __future__ import annotations

import pytest

from hal.camera.simulated import SimulatedCamera
from hal.events import BatteryLow, DeviceHealthChanged, MainsLost, MainsRestored, ShutdownButtonPressed
from hal.settings import CameraSettings
from kiosk.config import PowerPolicySettings
from kiosk.devices import Devices
from kiosk.events import StopRequested, SyncStatusChanged
from kiosk.power_policy import PowerPolicy, PowerState, ShutdownSequence
from kiosk.state import STORAGE_FULL, KioskState, Network


class FakeClock:
    def __init__(self) -> None:
        self.now = 1_000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def started() -> list[object]:
    """Shutdown sequences the policy started (recorded instead of run)."""
    return []


@pytest.fixture
def state(clock: FakeClock, started: list[object]):
    camera = SimulatedCamera(CameraSettings(backend="simulated"))
    devices = Devices(camera=camera)  # no pad, no printer, no UPS: switched off
    policy = PowerPolicy(
        PowerPolicySettings(finish_grace_s=60.0),
        shutdown=ShutdownSequence(("true",)),
        reading=devices.power.reading,
        clock=clock,
        start=started.append,
    )
    yield KioskState(devices, policy)
    devices.close()


def test_the_initial_health_is_read_once_and_switched_off_devices_are_off(state: KioskState) -> None:
    assert state.health == {"camera": "ok", "signature_pad": "off", "power": "off", "printer": "off"}
    caps = state.capabilities()
    assert caps.camera_ok and not caps.signature_pad_ok and not caps.printer_ok
    assert caps.network_ok and caps.sessions_allowed  # an unknown network counts as working


def test_health_events_change_capabilities_and_a_switched_off_device_stays_off(state: KioskState) -> None:
    assert state.apply(DeviceHealthChanged(device="camera", status="failed", detail="unplugged"))
    assert not state.capabilities().camera_ok
    assert state.apply(DeviceHealthChanged(device="camera", status="degraded", detail="slow"))
    assert state.capabilities().camera_ok  # degraded still serves
    assert not state.apply(DeviceHealthChanged(device="printer", status="ok", detail=""))
    assert state.health["printer"] == "off"


def test_the_sync_workers_status_is_the_network_and_the_queue(state: KioskState) -> None:
    assert state.view().network is Network.UNKNOWN
    assert state.apply(SyncStatusChanged(state="waiting", pending=3, dead=1))
    view = state.view()
    assert (view.network, view.pending, view.dead) == (Network.OFFLINE, 3, 1)
    assert not state.capabilities().network_ok
    state.apply(SyncStatusChanged(state="idle", pending=0, dead=1))
    assert state.view().network is Network.ONLINE and state.capabilities().network_ok
    assert not state.apply(SyncStatusChanged(state="held", pending=0, dead=1))  # held says nothing of the net


def test_power_events_go_to_the_policy_and_a_low_battery_refuses_sessions(state: KioskState) -> None:
    assert state.apply(MainsLost())
    assert state.power_policy.state is PowerState.ON_BATTERY and state.capabilities().on_battery
    assert state.apply(BatteryLow(percent=8.0, volts=3.3))
    caps = state.capabilities()
    assert not caps.sessions_allowed and caps.refusal_reason == "shutting_down"
    assert state.view().sessions_refused
    assert state.apply(MainsRestored())  # back before the shutdown: it is cancelled
    assert state.capabilities().sessions_allowed


def test_the_tick_starts_the_shutdown_whatever_the_screen_shows(
    state: KioskState, clock: FakeClock, started: list[object]
) -> None:
    state.apply(MainsLost())
    state.apply(BatteryLow(percent=8.0, volts=3.3))
    assert state.tick() is True  # nobody in a session: at once
    assert started == [state.power_policy.shutdown.run]
    assert state.power_policy.state is PowerState.SHUTTING_DOWN


def test_the_ups_button_reaches_the_power_policy(state: KioskState, started: list[object]) -> None:
    state.apply(ShutdownButtonPressed())
    assert state.capabilities().refusal_reason == "shutting_down"
    assert state.tick() and started


def test_a_stop_request_is_remembered_with_its_first_reason(state: KioskState) -> None:
    assert not state.stop_requested
    state.apply(StopRequested(reason="SIGTERM"))
    state.apply(StopRequested(reason="SIGINT"))
    assert state.stop_requested and state.stop_reason == "SIGTERM"


def test_a_full_kiosk_refuses_new_sessions_before_anyone_types(state: KioskState) -> None:
    state.storage_full = True
    caps = state.capabilities()
    assert not caps.sessions_allowed and caps.refusal_reason == STORAGE_FULL
    assert state.view().sessions_refused


def test_equal_views_mean_nothing_to_redraw(state: KioskState) -> None:
    first = state.view()
    assert not state.apply(DeviceHealthChanged(device="camera", status="ok", detail=""))
    assert state.view() == first


def _policy(devices: Devices, clock: FakeClock, started: list[object]) -> PowerPolicy:
    return PowerPolicy(
        PowerPolicySettings(finish_grace_s=60.0),
        shutdown=ShutdownSequence(("true",)),
        reading=devices.power.reading,
        clock=clock,
        start=started.append,
    )


def test_a_full_outbox_refuses_the_next_session_before_anyone_types(
    clock: FakeClock, started: list[object], tmp_path
) -> None:
    """A real outbox filled with real sealed records up to its limit: the state sees it after the save."""
    from ingest_lab import IngestLab

    from kiosk.events import RecordSaved
    from kiosk.outbox import Outbox

    lab = IngestLab.create(tmp_path / "lab")
    devices = Devices(camera=SimulatedCamera(CameraSettings(backend="simulated")))
    limit, headroom = 4 * 2**20, 2**20
    with Outbox(tmp_path / "outbox.sqlite3", max_size_bytes=limit, session_headroom_bytes=headroom) as outbox:
        state = KioskState(devices, _policy(devices, clock, started), storage_room=outbox.room)
        assert not state.storage_full and state.capabilities().sessions_allowed
        while outbox.room().accepts_new_session:
            lab.enqueue(outbox, 1, photo_size=200_000)
        assert state.apply(RecordSaved(reference="7KQ2-M9XD-4RA", record_id="x"))
        caps = state.capabilities()
        assert state.storage_full and not caps.sessions_allowed and caps.refusal_reason == STORAGE_FULL
    devices.close()


class _Room:
    def __init__(self, accepts: bool) -> None:
        self.accepts_new_session = accepts
        self.reason = "" if accepts else "outbox over [outbox] max_size_mb"


def test_room_is_asked_again_after_a_sync_pass_and_sessions_resume(
    clock: FakeClock, started: list[object]
) -> None:
    answers = [_Room(False)]
    devices = Devices(camera=SimulatedCamera(CameraSettings(backend="simulated")))
    state = KioskState(devices, _policy(devices, clock, started), storage_room=lambda: answers[-1])
    assert state.storage_full  # asked at start: a kiosk that boots full refuses from its first screen
    answers.append(_Room(True))  # the sync pass delivered records and gave their space back
    assert state.apply(SyncStatusChanged(state="idle", pending=0, dead=0))
    assert not state.storage_full and state.capabilities().sessions_allowed
    devices.close()
