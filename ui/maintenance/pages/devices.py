"""Live device tests: a rail of the kiosk's devices, each device's status with its self-test on demand, and
the live test of the one chosen (:mod:`ui.maintenance.pages.device_tests`: one class per device kind).

The camera preview and its face check run only while the camera test is shown; the strokes of the pad's
drawing test are dropped when it is left; the printer's test slip carries no personal data.
"""

from __future__ import annotations

import logging

import pygame

from hal.device import Device
from hal.events import Event
from kiosk.devices import switched_off
from kiosk.maintenance import AuditAction
from ui.maintenance.i18n import M_
from ui.maintenance.pages.base import Page, text
from ui.maintenance.pages.device_tests import (
    CameraChecked,
    CameraTest,
    DeviceTest,
    PadTest,
    PowerTest,
    PrinterTest,
)
from ui.maintenance.widgets import ProgressBar, StatusLine
from ui.maintenance.wording import STATUS_TONE, clock_time, device_backend, device_name, device_status
from ui.signature import Ink
from ui.widgets import Button, Stack, Widget

log = logging.getLogger(__name__)

__all__ = ["CameraChecked", "DevicesPage"]

LABEL = M_("Devices")
TESTING = M_("Testing…")
TESTING_DEVICE = M_("Testing {device}…")
TESTED = M_("self-test at {time}")
TEST_FAILED = M_("The self-test could not run: {reason}")
SWITCHED_OFF = M_("This device is switched off in the configuration.")

#: The device tests, in the order of their buttons: (key, device name in the config).
TESTS = (("camera", "camera"), ("pad", "signature_pad"), ("printer", "printer"), ("power", "power"))


class DevicesPage(Page):
    """The device tests (see the module docstring)."""

    key = "devices"
    label = LABEL

    def __init__(self, scene) -> None:
        super().__init__(scene)
        devices = self.mode.devices
        tests: list[DeviceTest] = [
            CameraTest(self, devices.camera),
            PadTest(self, devices.signature_pad),
            PrinterTest(self, devices.printer),
            PowerTest(self, devices.power),
        ]
        self.tests: dict[str, DeviceTest] = {test.key: test for test in tests}
        self.test = "camera"
        #: When each device's self-test last ran here (seconds since the epoch).
        self.tested_at: dict[str, float] = {}

    @property
    def shown(self) -> DeviceTest:
        """The test on screen."""
        return self.tests[self.test]

    # What tests and technicians read off the page: the camera's last verdict, the pad's sample count.
    @property
    def check(self) -> CameraChecked | None:
        """The face check's last verdict on the camera test."""
        camera = self.tests["camera"]
        return camera.check if isinstance(camera, CameraTest) else None

    @property
    def pen_samples(self) -> int:
        """Pen samples the drawing test received."""
        pad = self.tests["pad"]
        return pad.pen_samples if isinstance(pad, PadTest) else 0

    @property
    def ink(self) -> Ink | None:
        """The drawing test's strokes (None while it is not shown)."""
        pad = self.tests["pad"]
        return pad.ink if isinstance(pad, PadTest) else None

    def _device_of(self, test: DeviceTest) -> Device:
        return self.mode.devices.by_name()[test.device_name]

    # -- lifecycle ------------------------------------------------------------------------------
    def enter(self) -> None:
        self._start(self.shown)

    def leave(self) -> None:
        self._stop(self.shown)

    def choose(self, test: str) -> None:
        """Show another device's test."""
        if test == self.test:
            return
        self._stop(self.shown)
        self.test = test
        self._start(self.shown)
        self.changed()

    def _start(self, test: DeviceTest) -> None:
        self.scene.audit_view(AuditAction.DEVICE_TEST, f"{test.device_name}: live test opened")
        if not switched_off(self._device_of(test)):
            test.start()

    def _stop(self, test: DeviceTest) -> None:
        if not switched_off(self._device_of(test)):
            test.stop()

    # -- events and time ------------------------------------------------------------------------
    def on_event(self, event: Event) -> bool:
        return self.shown.on_event(event)

    def update(self, now: float) -> None:
        if not switched_off(self._device_of(self.shown)):
            self.shown.update(now)

    def next_deadline(self, now: float) -> float | None:
        if switched_off(self._device_of(self.shown)):
            return None
        return self.shown.next_deadline(now)

    # -- actions --------------------------------------------------------------------------------
    def self_test(self, name: str) -> None:
        """Run the self-test of the device ``name`` (audited by the session)."""
        device = self.mode.devices.by_name()[name]
        if switched_off(device):
            return
        session = self.mode.session

        def done(job) -> None:
            if job.error is None:
                self.tested_at[name] = self.mode.wall_clock()

        self.scene.start_job(
            self.scene.job(f"selftest.{name}"),
            lambda progress: session.test_device(name, device),
            done,
            item=name,
        )

    def print_slip(self) -> None:
        """Print the test slip (audited)."""
        printer = self.tests["printer"]
        if isinstance(printer, PrinterTest) and not switched_off(printer.printer):
            printer.print_slip()

    def clear_pad(self) -> None:
        """Wipe the strokes of the drawing test."""
        pad = self.tests["pad"]
        if isinstance(pad, PadTest):
            pad.clear()

    # -- widgets --------------------------------------------------------------------------------
    def build(self, area: pygame.Rect) -> list[Widget]:
        kit, m, tr = self.kit, self.kit.metrics, self.tr
        rail_w = m.px(170)
        rail = Stack(area.x, area.y, rail_w, gap=m.px(8))
        row_h = min(m.touch, (area.height - 3 * m.px(8)) // len(TESTS))
        for key, name in TESTS:
            rail.add(
                Button(
                    f"devices.{key}",
                    rail.rect(row_h),
                    kit,
                    device_name(tr, name),
                    lambda key=key: self.choose(key),
                    style="choice",
                    selected=key == self.test,
                    bold=key == self.test,
                )
            )
        content = pygame.Rect(area.x + rail_w + m.px(16), area.y, area.width - rail_w - m.px(16), area.height)
        test = self.shown
        device = self._device_of(test)
        widgets = rail.widgets
        top = self._status_row(test, pygame.Rect(content.x, content.y, content.width, m.touch), widgets)
        body = pygame.Rect(content.x, top + m.px(12), content.width, content.bottom - top - m.px(12))
        if switched_off(device):
            widgets.append(
                text(
                    f"devices.{self.test}.off",
                    kit,
                    body.x,
                    body.y,
                    body.width,
                    tr(SWITCHED_OFF),
                    tone="muted",
                )
            )
            return widgets
        return widgets + test.build(body)

    def _status_row(self, test: DeviceTest, rect: pygame.Rect, widgets: list[Widget]) -> int:
        """The device's status with its self-test button at the right; returns the bottom of the row."""
        kit, m, tr = self.kit, self.kit.metrics, self.tr
        name, device = test.device_name, self._device_of(test)
        if switched_off(device):
            widgets.append(
                StatusLine(
                    f"devices.{name}.status", rect, kit, device_name(tr, name), device_status(tr, "off")
                )
            )
            return rect.bottom
        job = self.scene.job(f"selftest.{name}")
        label = tr(TESTING) if job.running else tr(test.self_test_label)
        # As wide as the label needs at the button size (the device rail beside it has that size), up to
        # two fifths of the row; the status line wraps its note under the name when it has less room.
        needed = kit.text.width(tr(test.self_test_label), m.text_button, bold=True) + 2 * m.px(14)
        button_w = min(max(m.px(230), needed), rect.width * 2 // 5)
        widgets.append(
            Button(
                f"devices.{name}.selftest",
                (rect.right - button_w, rect.y, button_w, rect.height),
                kit,
                label,
                lambda: self.self_test(name),
                style="secondary",
                enabled=not job.running,
            )
        )
        if job.running:
            # At once, for as long as the test takes (a camera's takes seconds): which device is tested.
            caption = tr(TESTING_DEVICE).format(device=device_name(tr, name))
            bar_w = rect.width - button_w - m.px(16)
            bar = pygame.Rect(rect.x, rect.y + m.px(4), bar_w, rect.height - m.px(8))
            widgets.append(ProgressBar(f"devices.{name}.selftest.progress", bar, kit, None, caption))
            return rect.bottom
        health = device.health()
        status = str(health.status)
        note = device_backend(tr, device.backend)
        tested_at = self.tested_at.get(name)
        if tested_at is not None and job.error is None:
            note = tr(TESTED).format(time=clock_time(tested_at))
        widgets.append(
            StatusLine(
                f"devices.{name}.status",
                pygame.Rect(rect.x, rect.y, rect.width - button_w - m.px(16), rect.height),
                kit,
                device_name(tr, name),
                device_status(tr, status),
                health.detail,
                tone=STATUS_TONE.get(status, "muted"),
                note=note,
            )
        )
        if job.error is None:
            return rect.bottom
        failed = text(
            f"devices.{name}.selftest.error",
            kit,
            rect.x,
            rect.bottom + m.px(6),
            rect.width,
            tr(TEST_FAILED).format(reason=job.error),
            role="small",
            tone="error",
            max_lines=2,
        )
        widgets.append(failed)
        return failed.rect.bottom
