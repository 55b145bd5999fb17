"""The builder: one typed kiosk from a config, each part made once, null objects for absent devices."""

from __future__ import annotations

from pathlib import Path

import pytest

from hal.camera.disabled import DisabledCamera
from hal.device import HealthStatus
from hal.events import DeviceHealthChanged, EventQueue
from hal.power import SwitchedOffPower
from hal.printer import SwitchedOffPrinter
from hal.signature_pad import SwitchedOffSignaturePad
from kiosk.assembly import Kiosk, build_kiosk
from kiosk.config import parse_config
from kiosk.devices import device_status


def _config(data: Path, printer: str = "none"):
    return parse_config(
        f"""
        [kiosk]
        id = "BMT-MODAYAG-01"
        data_dir = "{data}"
        [server]
        url = "http://127.0.0.1:9"
        lab = true
        token = "t0ken"
        [camera]
        backend = "none"
        [signature_pad]
        backend = "none"
        [power]
        backend = "none"
        [printer]
        backend = "{printer}"
        """
    )


#: The real scrypt cost is tests/kiosk/test_maintenance_pin.py's; here many PIN checks must stay fast.
pytestmark = pytest.mark.usefixtures("cheap_scrypt")


@pytest.fixture
def kiosk(tmp_path: Path):
    built = build_kiosk(_config(tmp_path / "data"), EventQueue())
    yield built
    built.close()


def test_a_kiosk_without_devices_has_each_kinds_null_object_switched_off(kiosk: Kiosk) -> None:
    devices = kiosk.devices
    assert isinstance(devices.camera, DisabledCamera)
    assert isinstance(devices.signature_pad, SwitchedOffSignaturePad)
    assert isinstance(devices.power, SwitchedOffPower)
    assert isinstance(devices.printer, SwitchedOffPrinter)
    assert [device_status(device) for _, device in devices] == ["off"] * 4
    assert kiosk.state.health == {"camera": "off", "signature_pad": "off", "power": "off", "printer": "off"}
    assert kiosk.events.drain() == []  # a device switched off is not news


def test_the_parts_are_made_once_and_shared(kiosk: Kiosk) -> None:
    assert kiosk.sync._client is kiosk.client  # the maintenance probe uses the same client
    assert kiosk.maintenance is not None and kiosk.maintenance_problem == ""
    assert kiosk.state.power_policy is kiosk.power_policy
    assert kiosk.registration is not None and kiosk.journey.catalog.get("ektp") is not None


def test_the_heartbeat_carries_devices_queue_and_pin_failures(kiosk: Kiosk) -> None:
    from kiosk.maintenance import TechnicianPin

    TechnicianPin.in_data_dir(kiosk.config.data_path).set("739105")
    assert kiosk.maintenance is not None
    kiosk.maintenance.session.enter("258013")
    snapshot = kiosk.health_snapshot()
    assert snapshot["pin"]["failed_attempts"] == 1 and snapshot["pin"]["blocked"] is False
    assert {line["name"] for line in snapshot["devices"]} == {"camera", "signature_pad", "power", "printer"}
    assert "258013" not in repr(snapshot)


def test_a_damaged_maintenance_database_leaves_a_kiosk_that_serves(tmp_path: Path) -> None:
    data = tmp_path / "data"
    (data / "maintenance.sqlite3").mkdir(parents=True)  # a directory where the database should be
    kiosk = build_kiosk(_config(data), EventQueue())
    try:
        assert kiosk.maintenance is None and kiosk.maintenance_problem
        assert kiosk.state.capabilities().sessions_allowed
        assert "pin" not in kiosk.health_snapshot()  # no lockout to report without its database
    finally:
        kiosk.close()


def test_a_device_that_cannot_be_opened_is_its_null_object_failed_with_the_reason(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(*args, **kwargs):
        raise OSError("no such device: /dev/usb/lp0")

    monkeypatch.setattr("kiosk.devices._printer", broken)
    events = EventQueue()
    kiosk = build_kiosk(_config(tmp_path / "data", printer="usb"), events)
    try:
        printer = kiosk.devices.printer
        assert isinstance(printer, SwitchedOffPrinter) and printer.backend == "usb"
        assert printer.health().status is HealthStatus.FAILED
        assert "cannot be opened: no such device" in printer.health().detail
        assert kiosk.state.health["printer"] == "failed" and not kiosk.state.capabilities().printer_ok
        posted = [e for e in events.drain() if isinstance(e, DeviceHealthChanged)]
        assert [(e.device, e.status) for e in posted] == [("printer", "failed")]
    finally:
        kiosk.close()


def test_closing_runs_every_shutdown_step(kiosk: Kiosk, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level("INFO", logger="kiosk.assembly")
    closed = []
    kiosk.on_close(lambda: closed.append("ui"))
    kiosk.close()
    steps = [r.getMessage() for r in caplog.records if r.getMessage().startswith("shutdown:")]
    assert steps == [
        "shutdown: stopping sync",
        "shutdown: closing the ingest client",
        "shutdown: finishing saves",
        "shutdown: closing the UI's parts",
        "shutdown: stopping the face check",
        "shutdown: stopping the metrics",
        "shutdown: closing maintenance",
        "shutdown: closing devices",
        "shutdown: checkpointing the outbox",
        "shutdown: closing the outbox",
        "shutdown: done",
    ]
    assert closed == ["ui"]
