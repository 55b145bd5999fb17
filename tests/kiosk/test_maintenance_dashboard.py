"""The maintenance dashboard snapshot, from real (simulated) devices, a real outbox and the sync worker."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from hal.camera import open_camera
from hal.power import SimulatedUps
from hal.settings import CameraSettings, PowerSettings
from kiosk import __version__
from kiosk.config import SyncSettings
from kiosk.devices import Devices
from kiosk.maintenance import take_snapshot
from kiosk.outbox import Outbox
from kiosk.records import Consent, Record, utc_timestamp
from kiosk.sealing import KioskIdentity, generate_server_keypair, seal_record
from kiosk.sync import IngestClient, SyncWorker


class FakeClock:
    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(1_700_000_000.0)


@pytest.fixture
def kiosk(tmp_path: Path, clock: FakeClock):
    camera = open_camera(CameraSettings(backend="simulated"))
    ups = SimulatedUps(PowerSettings(backend="simulated", simulated_battery_percent=55.0), poll=False)
    outbox = Outbox(tmp_path / "data" / "outbox.sqlite3", clock=clock)
    client = IngestClient("http://127.0.0.1:9", "token", "KIOSK-TEST-01")
    sync = SyncWorker(outbox, client, settings=SyncSettings())
    devices = Devices(camera=camera, power=ups)  # no pad, no printer: switched off
    try:
        yield devices, outbox, sync, tmp_path / "data"
    finally:
        devices.close()
        client.close()
        outbox.close()


def enqueue_one(outbox: Outbox, tmp_path: Path) -> None:
    identity = KioskIdentity.load_or_create(tmp_path / "keys")
    public_key, _ = generate_server_keypair()
    record = Record.new(
        kiosk_id="KIOSK-TEST-01",
        service="ektp",
        language="id",
        fields={"nik": "7110045708900001"},
        photo_jpeg=None,
        photo_note=None,
        signature=None,
        consent=Consent(given=True, text_version="2024-1", at=utc_timestamp(1_700_000_000)),
        software_version="test",
        clock=lambda: 1_700_000_000.0,
    )
    outbox.enqueue(seal_record(record, identity, public_key))


def test_the_dashboard_shows_a_simulated_camera_fault_and_everything_else(
    kiosk, clock: FakeClock, tmp_path: Path
) -> None:
    devices, outbox, sync, data_dir = kiosk
    enqueue_one(outbox, tmp_path)
    clock.now += 600
    devices.camera.set_fault("disconnect")
    devices.camera.self_test()
    devices.power.poll()

    snapshot = take_snapshot(
        devices=devices,
        outbox=outbox,
        sync=sync,
        power=devices.power,
        data_dir=data_dir,
        started_at=100.0,
        clock=lambda: 160.0,
        wall_clock=lambda: 1_700_000_600.0,
    )

    lines = {d.name: d for d in snapshot.devices}
    assert (lines["camera"].status, lines["camera"].detail) == ("failed", "camera disconnected")
    assert lines["camera"].backend == "simulated"
    assert lines["power"].status == "ok"
    assert (lines["printer"].status, lines["signature_pad"].status) == ("off", "off")
    assert [d.name for d in snapshot.failed_devices] == ["camera"]
    assert snapshot.records == {"pending": 1, "sending": 0, "sent": 0, "dead": 0}
    assert snapshot.oldest_pending_age_s == pytest.approx(600.0, abs=1.0)
    assert snapshot.sync is not None and snapshot.sync.state == "stopped"
    assert snapshot.battery is not None
    assert snapshot.battery.percent == pytest.approx(55.0, abs=0.01)
    assert snapshot.battery.on_battery is False
    assert snapshot.disk_free_bytes and snapshot.disk_total_bytes
    assert 0 < snapshot.disk_free_bytes <= snapshot.disk_total_bytes
    assert snapshot.version == __version__
    assert snapshot.app_uptime_s == 60.0
    assert snapshot.system_uptime_s is None or snapshot.system_uptime_s > 0
    assert snapshot.problems == ()
    # JSON-ready (the heartbeat may send it) and free of personal data.
    text = json.dumps(snapshot.as_dict())
    assert "7110045708900001" not in text


def test_a_broken_outbox_is_a_finding_and_the_rest_still_shows(kiosk) -> None:
    devices, outbox, sync, data_dir = kiosk
    outbox.close()
    snapshot = take_snapshot(
        devices=devices, outbox=outbox, sync=None, power=None, data_dir=data_dir / "gone", started_at=0.0
    )
    assert snapshot.records == {}
    assert any(p.startswith("outbox:") for p in snapshot.problems)
    assert any(p.startswith("disk:") for p in snapshot.problems)
    assert {d.name for d in snapshot.devices} == {"camera", "signature_pad", "power", "printer"}
    assert snapshot.sync is None and snapshot.battery is None
