"""Choosing the signature pad backend from the settings, and the simulated pad end to end."""

from __future__ import annotations

import warnings

import pytest

from hal.device import HealthStatus
from hal.errors import DeviceFallbackWarning, UnknownBackend
from hal.events import DeviceHealthChanged, EventQueue, PenSample
from hal.settings import SignaturePadSettings
from hal.signature_pad import SignaturePad, SwitchedOffSignaturePad, open_signature_pad
from hal.signature_pad.emulator import PadEmulator
from hal.signature_pad.serial_pad import SerialSignaturePad
from hal.signature_pad.simulated_pad import SimulatedSignaturePad

WAIT = 5.0
FAST_RECONNECT = {"reconnect_initial_s": 0.02, "reconnect_max_s": 0.1}


def wait_for_health(events: EventQueue, status: HealthStatus) -> DeviceHealthChanged:
    while True:
        event = events.wait_for(DeviceHealthChanged, WAIT)
        assert event is not None, f"the pad never became {status}"
        if event.status == status:
            return event


def test_auto_without_a_pad_falls_back_to_the_simulated_pad_with_a_warning(
    tmp_path, events: EventQueue
) -> None:
    settings = SignaturePadSettings(backend="auto", port=str(tmp_path / "signature-pad"))
    with pytest.warns(DeviceFallbackWarning, match="no signature pad at"):
        pad = open_signature_pad(settings, events)
    with pad:
        assert isinstance(pad, SimulatedSignaturePad)
        assert (pad.kind, pad.backend) == ("signature_pad", "simulated")
        # The emulator signs when the kiosk expects a signature, through the real serial driver.
        pad.expect_signature()
        assert isinstance(events.wait_for(PenSample, WAIT), PenSample)
    assert not pad.emulator.plugged


def test_auto_with_a_pad_present_uses_the_serial_driver_silently(tmp_path, events: EventQueue) -> None:
    with PadEmulator(tmp_path / "signature-pad") as emulator:
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            pad = open_signature_pad(SignaturePadSettings(backend="auto", port=emulator.path), events)
        with pad:
            assert type(pad) is SerialSignaturePad
            assert pad.backend == "serial"
            assert pad.health().ok


def test_serial_backend_with_the_pad_unplugged_reports_failed_instead_of_raising(
    tmp_path, events: EventQueue
) -> None:
    port = tmp_path / "signature-pad"
    with open_signature_pad(SignaturePadSettings(backend="serial", port=str(port)), events) as pad:
        assert isinstance(pad, SignaturePad)
        event = wait_for_health(events, HealthStatus.FAILED)
        assert event.detail == f"signature pad not connected ({port})"
        assert pad.self_test().status is HealthStatus.FAILED


def test_simulated_pad_passes_its_self_test_by_a_touch_that_comes_back(events: EventQueue) -> None:
    with open_signature_pad(SignaturePadSettings(backend="simulated"), events) as pad:
        assert pad.self_test().ok
        pad.emulator.unplug()
        wait_for_health(events, HealthStatus.FAILED)
        assert pad.self_test().status is HealthStatus.FAILED


def test_simulated_isdv4_pad_reports_the_emulated_digitiser_size(events: EventQueue) -> None:
    with open_signature_pad(SignaturePadSettings(backend="simulated", protocol="isdv4"), events) as pad:
        assert (pad.max_x, pad.max_y, pad.max_pressure) == (
            pad.emulator.size.max_x,
            pad.emulator.size.max_y,
            pad.emulator.size.max_pressure,
        )
        pad.expect_signature()
        sample = events.wait_for(PenSample, WAIT)
        assert sample is not None and sample.pressure is not None


def test_simulated_fault_unplugged_starts_failed_and_recovers_when_plugged(events: EventQueue) -> None:
    settings = SignaturePadSettings(backend="simulated", simulated_fault="unplugged", **FAST_RECONNECT)
    with open_signature_pad(settings, events) as pad:
        assert pad.health().status is HealthStatus.FAILED
        assert pad.health().detail.startswith("signature pad not connected (")
        pad.emulator.replug()
        wait_for_health(events, HealthStatus.OK)
        pad.expect_signature()
        assert isinstance(events.wait_for(PenSample, WAIT), PenSample)


def test_simulated_fault_garbage_adds_line_noise_to_the_emulated_pad() -> None:
    with open_signature_pad(SignaturePadSettings(backend="simulated", simulated_fault="garbage")) as pad:
        assert pad.emulator.noise
        assert pad.health().ok


def test_backend_none_is_a_pad_that_says_it_is_switched_off(events: EventQueue) -> None:
    with open_signature_pad(SignaturePadSettings(backend="none"), events) as pad:
        assert isinstance(pad, SwitchedOffSignaturePad)
        assert pad.self_test().status is HealthStatus.FAILED
        assert pad.health().detail == "signature pad switched off in the settings"


def test_an_unknown_backend_is_refused() -> None:
    with pytest.raises(UnknownBackend, match="'bluetooth'"):
        open_signature_pad(SignaturePadSettings(backend="bluetooth"))  # type: ignore[arg-type]
