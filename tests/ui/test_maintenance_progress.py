"""A self-test shows at once which device it is testing, and "Check all" which device and how many are done.

A camera's self-test takes seconds on a Pi; without a word on screen the technician taps again, or walks
away. Here a device's self-test is held on a threading event (the real maintenance scene, real app loop,
real worker threads, the rig's fake clock) and the first frame drawn after the tap is read.
"""

from __future__ import annotations

import threading

import pytest
from maintenance_rig import Rig

from hal.device import Device
from kiosk.devices import switched_off

#: The real scrypt cost is tests/kiosk/test_maintenance_pin.py's; here many PIN checks must stay fast.
pytestmark = pytest.mark.usefixtures("cheap_scrypt")


class HeldSelfTest:
    """Holds a device's self-test on a worker thread until :meth:`release` (a slow camera)."""

    def __init__(self, device: Device) -> None:
        self.running = threading.Event()
        self.go_on = threading.Event()
        self._self_test = device.self_test
        device.self_test = self  # type: ignore[method-assign]

    def __call__(self):
        self.running.set()
        if not self.go_on.wait(20):
            raise TimeoutError("the test never released the self-test")
        return self._self_test()

    def release(self) -> None:
        self.go_on.set()


class FirstFrame:
    """The texts of the first frame the app draws after the next tap (the finger lifted)."""

    def __init__(self, rig: Rig) -> None:
        self.texts: list[str] | None = None
        self._lifted = False
        app, draw, dispatch = rig.app, rig.app.draw, rig.app.dispatch

        def recording_dispatch(pointer) -> None:
            dispatch(pointer)
            self._lifted = self._lifted or pointer.kind == "up"

        def recording_draw(now: float | None = None) -> None:
            draw(now)
            if self._lifted and self.texts is None:
                self.texts = [text for widget in rig.pilot.root.walk() for text in widget.texts()]

        app.dispatch = recording_dispatch  # type: ignore[method-assign]
        app.draw = recording_draw  # type: ignore[method-assign]


def test_check_all_names_the_device_it_checks_and_counts_from_the_first_frame(rig: Rig) -> None:
    rig.enter()
    pilot = rig.pilot
    tested = [name for name, device in rig.devices if not switched_off(device)]
    assert tested[:2] == ["camera", "power"]
    camera, power = HeldSelfTest(rig.camera), HeldSelfTest(rig.ups)
    frame = FirstFrame(rig)
    pilot.tap("dash.check")
    assert frame.texts is not None and f"Checking Camera: 0 of {len(tested)} done…" in frame.texts
    assert not pilot.exists("dash.check")  # one check at a time: the progress takes the button's place

    camera.release()
    assert power.running.wait(10)
    pilot.wait_until(
        lambda: (
            pilot.find("dash.check.progress").caption == f"Checking UPS and battery: 1 of {len(tested)} done…"
        ),
        what="the second device's progress",
    )
    assert pilot.find("dash.check.progress").fraction == pytest.approx(1 / len(tested))
    power.release()
    assert rig.wait_job("check").error is None
    pilot.wait_until(lambda: pilot.exists("dash.check"), what="the button back")


def test_a_self_test_says_at_once_which_device_it_tests(rig: Rig) -> None:
    rig.enter()
    pilot = rig.pilot
    pilot.tap("m.language")  # in Bahasa Indonesia this time
    pilot.tap("m.tab.devices")
    camera = HeldSelfTest(rig.camera)
    frame = FirstFrame(rig)
    pilot.tap("devices.camera.selftest")
    assert frame.texts is not None and "Menguji Kamera…" in frame.texts
    assert not pilot.find("devices.camera.selftest").enabled
    assert camera.running.wait(10)

    camera.release()
    assert rig.wait_job("selftest.camera").error is None
    pilot.wait_until(lambda: not pilot.exists("devices.camera.selftest.progress"), what="the result")
    assert pilot.find("devices.camera.selftest").enabled
    assert pilot.find("devices.camera.status").status == "Berfungsi"
