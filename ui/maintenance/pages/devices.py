"""Live device tests: the camera's picture with the face-check readout, a drawing test on the signature pad,
a test slip on the printer and the UPS's readings; each device's self-test on demand.

The camera preview and its face check run only while the camera test is shown, the face check on its own
thread (:class:`kiosk.photo_quality.PhotoQualityWorker`), which posts :class:`CameraChecked` events. Pen
samples arrive as :class:`~hal.events.PenSample` events, as on the citizen's signature screen; the strokes
are only drawn here and dropped when the test is left. The test slip carries no personal data.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pygame

from hal.events import Event, PenSample
from kiosk.maintenance import AuditAction
from ui.maintenance.i18n import M_
from ui.maintenance.pages.base import Page, text
from ui.maintenance.widgets import ProgressBar, StatusLine
from ui.maintenance.wording import STATUS_TONE, clock_time, device_name, device_status
from ui.signature import Ink
from ui.widgets import Button, CameraView, Label, Panel, SignatureCanvas, Widget

log = logging.getLogger(__name__)

LABEL = M_("Devices")
SELF_TEST = M_("Run self-test")
TESTING = M_("Testing…")
TESTED = M_("self-test at {time}")
TEST_FAILED = M_("The self-test could not run: {reason}")
SWITCHED_OFF = M_("This device is switched off in the configuration.")
CAMERA_WAITING = M_("Waiting for the camera…")
CAMERA_QUALITY = M_("Face check of the live picture")
FACE_FOUND = M_("Face: found")
FACE_MISSING = M_("Face: not found")
SHARPNESS = M_("Sharpness: {value} (at least {minimum})")
BRIGHTNESS = M_("Brightness: {value} (between {low} and {high})")
VERDICT_GOOD = M_("Verdict: a good photo")
VERDICT_BAD = M_("Verdict: {problem}")
NOT_CHECKED = M_("The face check has not looked at a picture yet.")
CHECK_UNAVAILABLE = M_("The face check cannot run: {reason}")
PAD_PROMPT = M_("Draw on the signature pad with its pen: the strokes appear here.")
PAD_SAMPLES = M_("Pen samples received: {count}")
CLEAR = M_("Clear")
PRINTER_ABOUT = M_("Prints a short slip with this kiosk's name and the time. It carries no personal data.")
PRINT = M_("Print a test slip")
PRINTING = M_("Printing…")
PRINTED = M_("The test slip was printed at {time}.")
PRINT_FAILED = M_("The printer did not print: {reason}")
SLIP_TITLE = M_("Printer test")
SLIP_LINE = M_("Kiosk {kiosk}")
SLIP_TIME = M_("Printed {time}")
SLIP_FOOTER = M_("Test slip: not a registration receipt")
MAINS_OK = M_("Mains power: present")
MAINS_LOST = M_("Mains power: LOST, running on battery")
CHARGE = M_("Battery charge: {value}")
VOLTS = M_("Battery voltage: {value}")
NOT_READ = M_("not read")
READ_NOW = M_("Read the UPS now")
NO_READINGS = M_("This power monitor gives no readings.")

#: Face-check problem codes (kiosk.photo_quality.PhotoProblem) in the technician's words.
PROBLEMS = {
    "no_face": M_("no face found"),
    "several_faces": M_("more than one face"),
    "off_centre": M_("face not centred"),
    "too_far": M_("face too small (too far)"),
    "too_close": M_("face too large (too close)"),
    "blurry": M_("picture not sharp"),
    "too_dark": M_("too dark"),
    "too_bright": M_("too bright"),
}

#: The device tests, in the order of their buttons: (key, device name in the config).
TESTS = (("camera", "camera"), ("pad", "signature_pad"), ("printer", "printer"), ("power", "power"))


@dataclass(frozen=True)
class CameraChecked(Event):
    """The face check's verdict on one preview frame (posted by the face-check thread)."""

    problems: tuple[str, ...]
    face: bool
    sharpness: float
    brightness: float
    seq: int


class DevicesPage(Page):
    """The device tests (see the module docstring)."""

    key = "devices"
    label = LABEL

    def __init__(self, scene) -> None:
        super().__init__(scene)
        self.test = "camera"
        self.check: CameraChecked | None = None
        self.check_problem = ""
        self.pen_samples = 0
        self.ink: Ink | None = None
        self._worker: Any = None
        self._camera_cache: dict = {}
        self._canvas_cache: dict = {}
        self._next_look = 0.0
        #: When each device's self-test last ran here (seconds since the epoch).
        self.tested_at: dict[str, float] = {}

    def device(self, name: str) -> Any:
        """The device ``name`` from the config's list, or None."""
        return self.mode.devices.get(name)

    # -- lifecycle ------------------------------------------------------------------------------
    def enter(self) -> None:
        self._start(self.test)

    def leave(self) -> None:
        self._stop(self.test)

    def choose(self, test: str) -> None:
        """Show another device's test."""
        if test == self.test:
            return
        self._stop(self.test)
        self.test = test
        self._start(test)
        self.changed()

    def _start(self, test: str) -> None:
        name = dict(TESTS)[test]
        self.scene.audit_view(AuditAction.DEVICE_TEST, f"{name}: live test opened")
        if test == "camera":
            self._start_camera()
        elif test == "pad":
            pad = self.device("signature_pad")
            if pad is not None and hasattr(pad, "max_x"):
                self.ink = Ink("pad", int(pad.max_x) + 1, int(pad.max_y) + 1, self.mode.clock)
            self.pen_samples = 0
            self._canvas_cache.clear()

    def _stop(self, test: str) -> None:
        if test == "camera":
            self._stop_camera()
        elif test == "pad":
            self.ink = None  # strokes are not kept
            self._canvas_cache.clear()

    def _start_camera(self) -> None:
        camera = self.device("camera")
        self.check = None
        self.check_problem = ""
        if camera is None or not hasattr(camera, "start_preview"):
            return
        try:
            camera.start_preview()
        except Exception:  # a camera that cannot start shows as failed in its status line
            log.exception("the camera preview did not start")
            return
        make: Callable[..., Any] | None = self.mode.photo_quality
        try:
            if make is None:
                from kiosk.photo_quality import PhotoQualityWorker

                make = PhotoQualityWorker
            self._worker = make(camera, self._checked)
            self._worker.start()
        except Exception as exc:  # noqa: BLE001 - the picture still shows; the readout says why not checked
            log.exception("the face check did not start")
            self.check_problem = str(exc)
            self._worker = None

    def _checked(self, assessment: Any, seq: int) -> None:
        # On the face-check thread: only post.
        self.scene.post(
            CameraChecked(
                problems=tuple(str(p) for p in assessment.problems),
                face=assessment.face is not None,
                sharpness=float(assessment.sharpness),
                brightness=float(assessment.brightness),
                seq=seq,
            )
        )

    def _stop_camera(self) -> None:
        worker, camera = self._worker, self.device("camera")
        self._worker = None
        self._camera_cache.clear()

        def stop() -> None:
            # Both join threads (up to a camera timeout): never on the UI thread.
            if worker is not None:
                worker.stop()
            if camera is not None and hasattr(camera, "stop_preview"):
                camera.stop_preview()

        self.scene.run(stop, lambda future: future.exception(), after_close=True)

    # -- events and time ------------------------------------------------------------------------
    def on_event(self, event: Event) -> bool:
        if isinstance(event, CameraChecked) and self.test == "camera":
            if (
                self.check is None
                or (event.problems, event.face) != (self.check.problems, self.check.face)
                or round(event.sharpness, 1) != round(self.check.sharpness, 1)
                or round(event.brightness) != round(self.check.brightness)
            ):
                self.check = event
                self.changed()
                return True
            return False
        if isinstance(event, PenSample) and self.test == "pad" and self.ink is not None:
            if event.pen_down or self.ink.samples:
                self.ink.add(event.x, event.y, event.pen_down, t=event.t or None, pressure=event.pressure)
            self.pen_samples += 1
            self.mode.session.touch()  # drawing on the pad is activity
            if self.pen_samples % 25 == 1:
                self.changed()  # the counter; strokes alone only need a redraw
            return True
        return False

    def update(self, now: float) -> None:
        if self.test != "camera" or now < self._next_look:
            return
        self._next_look = now + 1.0
        camera = self.device("camera")
        # A citizen screen left behind may have stopped the shared preview: start it again.
        if (
            camera is not None
            and hasattr(camera, "previewing")
            and not camera.previewing
            and not camera.closed
        ):
            try:
                camera.start_preview()
            except Exception:  # noqa: BLE001 - the status line shows the camera's own health
                log.debug("the camera preview cannot start", exc_info=True)

    def next_deadline(self, now: float) -> float | None:
        return self._next_look if self.test == "camera" else None

    # -- actions --------------------------------------------------------------------------------
    def self_test(self, name: str) -> None:
        """Run the self-test of the device ``name`` (audited by the session)."""
        device = self.device(name)
        if device is None:
            return
        session = self.mode.session

        def done(job) -> None:
            if job.error is None:
                self.tested_at[name] = self.mode.wall_clock()

        self.scene.start_job(
            self.scene.job(f"selftest.{name}"), lambda progress: session.test_device(name, device), done
        )

    def print_slip(self) -> None:
        """Print the test slip (audited)."""
        from hal.printer import Receipt

        printer = self.device("printer")
        if printer is None:
            return
        tr = self.tr
        now = self.mode.wall_clock()
        stamp = time.strftime("%Y-%m-%d %H:%M", time.localtime(now))
        receipt = Receipt(
            title=tr(SLIP_TITLE),
            reference=self.mode.kiosk_id,
            lines=(tr(SLIP_LINE).format(kiosk=self.mode.kiosk_id), tr(SLIP_TIME).format(time=stamp)),
            qr_data=self.mode.kiosk_id,
            footer=(tr(SLIP_FOOTER),),
        )
        session = self.mode.session

        def work(progress) -> float:
            with session.action(AuditAction.DEVICE_TEST, "printer: test slip") as act:
                printer.print_receipt(receipt)
                act.detail = "printer: test slip printed"
            return now

        self.scene.start_job(self.scene.job("print"), work)

    def clear_pad(self) -> None:
        """Wipe the strokes of the drawing test."""
        if self.ink is not None:
            self.ink.clear()
        self._canvas_cache.clear()
        self.pen_samples = 0
        self.changed()

    # -- widgets --------------------------------------------------------------------------------
    def build(self, area: pygame.Rect) -> list[Widget]:
        kit, m, tr = self.kit, self.kit.metrics, self.tr
        rail_w = m.px(170)
        widgets: list[Widget] = []
        y = area.y
        row_h = min(m.touch, (area.height - 3 * m.px(8)) // len(TESTS))
        for key, name in TESTS:
            widgets.append(
                Button(
                    f"devices.{key}",
                    (area.x, y, rail_w, row_h),
                    kit,
                    device_name(tr, name),
                    lambda key=key: self.choose(key),
                    style="choice",
                    selected=key == self.test,
                    bold=key == self.test,
                )
            )
            y += row_h + m.px(8)
        content = pygame.Rect(area.x + rail_w + m.px(16), area.y, area.width - rail_w - m.px(16), area.height)
        name = dict(TESTS)[self.test]
        device = self.device(name)
        top = self._status_row(
            name, device, pygame.Rect(content.x, content.y, content.width, m.touch), widgets
        )
        body = pygame.Rect(content.x, top + m.px(12), content.width, content.bottom - top - m.px(12))
        if device is None:
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
        build = {"camera": self._camera, "pad": self._pad, "printer": self._printer, "power": self._power}
        return widgets + build[self.test](body, device)

    def _status_row(self, name: str, device: Any, rect: pygame.Rect, widgets: list[Widget]) -> int:
        """The device's status with its self-test button at the right; returns the bottom of the row."""
        kit, m, tr = self.kit, self.kit.metrics, self.tr
        if device is None:
            widgets.append(
                StatusLine(
                    f"devices.{name}.status", rect, kit, device_name(tr, name), device_status(tr, "off")
                )
            )
            return rect.bottom
        job = self.scene.job(f"selftest.{name}")
        button_w = min(m.px(230), rect.width // 3)
        label = tr(TESTING) if job.running else tr(READ_NOW if name == "power" else SELF_TEST)
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
        health = device.health()
        status = str(health.status)
        note = getattr(device, "backend", "")
        tested_at = self.tested_at.get(name)
        if tested_at is not None and job.error is None:
            note = tr(TESTED).format(time=clock_time(tested_at))
        line_rect = pygame.Rect(rect.x, rect.y, rect.width - button_w - m.px(16), rect.height)
        widgets.append(
            StatusLine(
                f"devices.{name}.status",
                line_rect,
                kit,
                device_name(tr, name),
                device_status(tr, status),
                health.detail,
                tone=STATUS_TONE.get(status, "muted"),
                note=note,
            )
        )
        bottom = rect.bottom
        if job.error is not None:
            failed = text(
                f"devices.{name}.selftest.error",
                kit,
                rect.x,
                bottom + m.px(6),
                rect.width,
                tr(TEST_FAILED).format(reason=job.error),
                role="small",
                tone="error",
                max_lines=2,
            )
            widgets.append(failed)
            bottom = failed.rect.bottom
        return bottom

    def _camera(self, body: pygame.Rect, camera: Any) -> list[Widget]:
        kit, m, tr = self.kit, self.kit.metrics, self.tr
        view_w = min(body.width * 58 // 100, int(body.height * 4 / 3))
        view = pygame.Rect(body.x, body.y, view_w, body.height)
        source = camera.latest_frame if hasattr(camera, "latest_frame") else (lambda: None)
        tone = "neutral" if self.check is None else ("good" if not self.check.problems else "adjust")
        widgets: list[Widget] = [
            CameraView(
                "devices.camera.view",
                view,
                kit,
                source,
                guide_tone=tone,
                waiting_text=tr(CAMERA_WAITING),
                cache=self._camera_cache,
            )
        ]
        side = pygame.Rect(view.right + m.px(16), body.y, body.right - view.right - m.px(16), body.height)
        y = side.y
        heading = text(
            "devices.camera.quality", kit, side.x, y, side.width, tr(CAMERA_QUALITY), role="button", bold=True
        )
        widgets.append(heading)
        y = heading.rect.bottom + m.px(8)
        for id, words, tone_ in self._readout():
            label = text(id, kit, side.x, y, side.width, words, role="small", tone=tone_, max_lines=3)
            widgets.append(label)
            y = label.rect.bottom + m.px(6)
        return widgets

    def _readout(self) -> list[tuple[str, str, str]]:
        from kiosk.photo_quality import DEFAULT_RULES

        tr = self.tr
        if self.check_problem:
            return [
                ("devices.camera.check", tr(CHECK_UNAVAILABLE).format(reason=self.check_problem), "error")
            ]
        check = self.check
        if check is None:
            return [("devices.camera.check", tr(NOT_CHECKED), "muted")]
        rules = DEFAULT_RULES
        problem = check.problems[0] if check.problems else None
        verdict = (
            tr(VERDICT_GOOD)
            if problem is None
            else tr(VERDICT_BAD).format(problem=tr(PROBLEMS[problem]) if problem in PROBLEMS else problem)
        )
        return [
            ("devices.camera.face", tr(FACE_FOUND if check.face else FACE_MISSING), "normal"),
            (
                "devices.camera.sharpness",
                tr(SHARPNESS).format(value=f"{check.sharpness:.1f}", minimum=f"{rules.min_sharpness:g}"),
                "normal" if check.sharpness >= rules.min_sharpness else "warning",
            ),
            (
                "devices.camera.brightness",
                tr(BRIGHTNESS).format(
                    value=f"{check.brightness:.0f}",
                    low=f"{rules.min_brightness:g}",
                    high=f"{rules.max_brightness:g}",
                ),
                "normal" if rules.min_brightness <= check.brightness <= rules.max_brightness else "warning",
            ),
            ("devices.camera.verdict", verdict, "success" if problem is None else "warning"),
        ]

    def _pad(self, body: pygame.Rect, pad: Any) -> list[Widget]:
        kit, m, tr = self.kit, self.kit.metrics, self.tr
        widgets: list[Widget] = []
        top = pygame.Rect(body.x, body.y, body.width, m.touch)
        clear_w = m.px(130)
        widgets.append(
            Label(
                "devices.pad.samples",
                (top.x, top.y, top.width // 2, top.height),
                kit,
                tr(PAD_SAMPLES).format(count=self.pen_samples),
                role="small",
                tone="muted",
                valign="middle",
            )
        )
        widgets.append(
            Button(
                "devices.pad.clear",
                (top.right - clear_w, top.y, clear_w, top.height),
                kit,
                tr(CLEAR),
                self.clear_pad,
                style="secondary",
                enabled=self.pen_samples > 0,
            )
        )
        canvas = pygame.Rect(body.x, top.bottom + m.px(10), body.width, body.bottom - top.bottom - m.px(10))
        if self.ink is not None:
            widgets.append(
                SignatureCanvas(
                    "devices.pad.canvas",
                    canvas,
                    kit,
                    self.ink,
                    touch=False,
                    prompt=tr(PAD_PROMPT),
                    cache=self._canvas_cache,
                )
            )
        return widgets

    def _printer(self, body: pygame.Rect, printer: Any) -> list[Widget]:
        kit, m, tr = self.kit, self.kit.metrics, self.tr
        width = min(body.width, m.px(520))
        about = text("devices.printer.about", kit, body.x, body.y, width, tr(PRINTER_ABOUT))
        widgets: list[Widget] = [about]
        y = about.rect.bottom + m.px(16)
        job = self.scene.job("print")
        widgets.append(
            Button(
                "devices.printer.print",
                (body.x, y, width, m.px(72)),
                kit,
                tr(PRINT),
                self.print_slip,
                enabled=not job.running,
            )
        )
        y += m.px(72) + m.px(12)
        if job.running:
            widgets.append(
                ProgressBar("devices.printer.progress", (body.x, y, width, m.px(34)), kit, None, tr(PRINTING))
            )
        elif job.error is not None:
            widgets.append(
                text(
                    "devices.printer.result",
                    kit,
                    body.x,
                    y,
                    width,
                    tr(PRINT_FAILED).format(reason=job.error),
                    tone="error",
                    bold=True,
                )
            )
        elif job.result is not None:
            widgets.append(
                text(
                    "devices.printer.result",
                    kit,
                    body.x,
                    y,
                    width,
                    tr(PRINTED).format(time=clock_time(job.result)),
                    tone="success",
                )
            )
        return widgets

    def _power(self, body: pygame.Rect, power: Any) -> list[Widget]:
        kit, m, tr = self.kit, self.kit.metrics, self.tr
        widgets: list[Widget] = []
        if not hasattr(power, "reading"):
            widgets.append(
                text("devices.power.none", kit, body.x, body.y, body.width, tr(NO_READINGS), tone="muted")
            )
        else:
            reading = power.reading()
            percent = f"{reading.percent:.0f}%" if reading.percent is not None else tr(NOT_READ)
            volts = f"{reading.volts:.2f} V" if reading.volts is not None else tr(NOT_READ)
            left = pygame.Rect(body.x, body.y, min(body.width, m.px(460)), body.height)
            rows = (
                (
                    "devices.power.mains",
                    tr(MAINS_LOST if reading.on_battery else MAINS_OK),
                    "warning" if reading.on_battery else "success",
                ),
                ("devices.power.percent", tr(CHARGE).format(value=percent), "normal"),
                ("devices.power.volts", tr(VOLTS).format(value=volts), "normal"),
            )
            y = left.y + m.px(12)
            children: list[Widget] = []
            for id, words, tone in rows:
                label = text(
                    id,
                    kit,
                    left.x + m.px(16),
                    y,
                    left.width - m.px(32),
                    words,
                    role="button",
                    tone=tone,
                    bold=id == "devices.power.mains",
                )
                children.append(label)
                y = label.rect.bottom + m.px(10)
            widgets.append(
                Panel(
                    "devices.power.readings",
                    (left.x, left.y, left.width, y - left.y + m.px(4)),
                    kit,
                    children,
                )
            )
        return widgets
