"""Each device kind's null object: what a kiosk has without that device, or with one it cannot open."""

from __future__ import annotations

import pytest

from hal.camera.disabled import DisabledCamera
from hal.device import HealthStatus
from hal.errors import DeviceClosed, DeviceNotFound
from hal.events import DeviceHealthChanged, EventQueue
from hal.power import PowerReading, SwitchedOffPower
from hal.printer import Receipt, SwitchedOffPrinter
from hal.settings import CameraSettings
from hal.signature_pad import SwitchedOffSignaturePad


def _receipt() -> Receipt:
    return Receipt(title="Test", reference="7KQ2-M9XD-4RA", lines=(), qr_data="x", footer=())


@pytest.mark.parametrize(
    "make",
    [
        lambda events, **kw: DisabledCamera(CameraSettings(), events, **kw),
        lambda events, **kw: SwitchedOffSignaturePad(events, **kw),
        lambda events, **kw: SwitchedOffPower(events, **kw),
        lambda events, **kw: SwitchedOffPrinter(events, **kw),
    ],
    ids=["camera", "signature_pad", "power", "printer"],
)
def test_a_null_device_is_failed_with_its_reason_and_says_so_once(make) -> None:
    events = EventQueue()
    device = make(events, reason="cannot be opened: no such port", backend="serial")
    assert device.backend == "serial"
    assert device.health().status is HealthStatus.FAILED
    assert device.health().detail == "cannot be opened: no such port"
    assert device.self_test().status is HealthStatus.FAILED
    posted = [e for e in events.drain() if isinstance(e, DeviceHealthChanged)]
    assert [(e.device, e.status) for e in posted] == [(device.kind, "failed")]
    device.close()
    device.close()  # idempotent, like every device


def test_switched_off_devices_say_so_in_their_own_words_and_post_nothing() -> None:
    devices = [
        DisabledCamera(CameraSettings()),
        SwitchedOffSignaturePad(),
        SwitchedOffPower(),
        SwitchedOffPrinter(),
    ]
    for device in devices:
        assert device.backend == "none"
        assert "settings" in device.health().detail


def test_no_power_monitoring_reads_as_mains_with_an_unknown_charge_and_cuts_nothing() -> None:
    power = SwitchedOffPower()
    assert power.reading() == PowerReading(on_battery=False, percent=None, volts=None)
    assert not power.on_battery
    assert power.cut_power_after_halt() is False


def test_no_printer_refuses_to_print_with_the_reason() -> None:
    printer = SwitchedOffPrinter(reason="the receipt printer is switched off in the settings")
    with pytest.raises(DeviceNotFound, match="switched off"):
        printer.print_receipt(_receipt())
    printer.close()
    with pytest.raises(DeviceClosed):
        printer.print_receipt(_receipt())
