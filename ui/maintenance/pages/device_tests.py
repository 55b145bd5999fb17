"""One live test per device kind, shown on the devices page: what each shows and does while it is open.

- :class:`CameraTest`: the live picture with the face check's readout. The preview and the face check (the
  kiosk's face-check worker, on its own thread, posting :class:`CameraChecked`) run only while it is shown.
- :class:`PadTest`: a drawing test; pen samples arrive as :class:`~hal.events.PenSample` events, as on the
  citizen's signature screen, and the strokes are dropped when the test is left.
- :class:`PrinterTest`: a test slip that carries no personal data.
- :class:`PowerTest`: the UPS's last readings.

Each gets its own device, typed; a device switched off never gets a test (the page says so instead).
"""

from __future__ import annotations

import abc
import logging
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, ClassVar

import pygame

from hal.camera import Camera
from hal.events import Event, PenSample
from hal.power import PowerSource
from hal.printer import ReceiptPrinter
from hal.signature_pad import SignaturePad
from kiosk.maintenance import AuditAction
from ui.maintenance.i18n import M_
from ui.maintenance.pages.base import text
from ui.maintenance.widgets import ProgressBar
from ui.maintenance.wording import clock_time
from ui.signature import Ink
from ui.widgets import Button, CameraView, Label, Panel, SignatureCanvas, Stack, Widget

if TYPE_CHECKING:
    from kiosk.photo_quality import PhotoAssessment, PhotoQualityWorker
    from ui.maintenance.pages.devices import DevicesPage

log = logging.getLogger(__name__)

SELF_TEST = M_("Run self-test")
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


@dataclass(frozen=True)
class CameraChecked(Event):
    """The face check's verdict on one preview frame (posted by the face-check thread)."""

    problems: tuple[str, ...]
    face: bool
    sharpness: float
    brightness: float
    seq: int


class DeviceTest(abc.ABC):
    """The live test of one device: started when shown, stopped when left, rebuilt like a page.

    Args:
        page: The devices page that shows it.
    """

    #: The test's key (its rail button is ``devices.<key>``).
    key: ClassVar[str]
    #: The device's name in :class:`~kiosk.devices.Devices`.
    device_name: ClassVar[str]
    #: The label of the self-test button.
    self_test_label: ClassVar[str] = SELF_TEST

    def __init__(self, page: DevicesPage) -> None:
        self.page = page

    def start(self) -> None:
        """The test is shown. Does nothing unless a test needs it."""
        return None

    def stop(self) -> None:
        """The test is left (or the page closed). Does nothing unless a test needs it."""
        return None

    def on_event(self, event: Event) -> bool:
        """An event from the main loop; True = redraw."""
        return False

    def update(self, now: float) -> None:
        """Called every loop iteration while shown. Does nothing unless a test needs it."""
        return None

    def next_deadline(self, now: float) -> float | None:
        """When :meth:`update` has something to do."""
        return None

    @abc.abstractmethod
    def build(self, body: pygame.Rect) -> list[Widget]:
        """The test's widgets under the device's status row."""


class CameraTest(DeviceTest):
    """The live picture and the face check's readout (see the module docstring)."""

    key = "camera"
    device_name = "camera"

    def __init__(self, page: DevicesPage, camera: Camera) -> None:
        super().__init__(page)
        self.camera = camera
        self.check: CameraChecked | None = None
        self.check_problem = ""
        self._worker: PhotoQualityWorker | None = None
        self._cache: dict = {}
        self._next_look = 0.0

    def start(self) -> None:
        self.check = None
        self.check_problem = ""
        try:
            self.camera.start_preview()
        except Exception:  # a camera that cannot start shows as failed in its status line
            log.exception("the camera preview did not start")
            return
        try:
            self._worker = self.page.mode.face_check(self.camera, self._checked)
            self._worker.start()
        except Exception as exc:  # noqa: BLE001 - the picture still shows; the readout says why not checked
            log.exception("the face check did not start")
            self.check_problem = str(exc)
            self._worker = None

    def _checked(self, assessment: PhotoAssessment, seq: int) -> None:
        # On the face-check thread: only post.
        self.page.scene.post(
            CameraChecked(
                problems=tuple(str(p) for p in assessment.problems),
                face=assessment.face is not None,
                sharpness=float(assessment.sharpness),
                brightness=float(assessment.brightness),
                seq=seq,
            )
        )

    def stop(self) -> None:
        worker, camera = self._worker, self.camera
        self._worker = None
        self._cache.clear()

        def stop() -> None:
            # Both join threads (up to a camera timeout): never on the UI thread.
            if worker is not None:
                worker.stop()
            camera.stop_preview()

        self.page.scene.run(stop, lambda future: future.exception(), after_close=True)

    def on_event(self, event: Event) -> bool:
        if not isinstance(event, CameraChecked):
            return False
        check = self.check
        if (
            check is None
            or (event.problems, event.face) != (check.problems, check.face)
            or round(event.sharpness, 1) != round(check.sharpness, 1)
            or round(event.brightness) != round(check.brightness)
        ):
            self.check = event
            self.page.changed()
            return True
        return False

    def update(self, now: float) -> None:
        if now < self._next_look:
            return
        self._next_look = now + 1.0
        camera = self.camera
        # A citizen screen left behind may have stopped the shared preview: start it again.
        if not camera.previewing and not camera.closed:
            try:
                camera.start_preview()
            except Exception:  # noqa: BLE001 - the status line shows the camera's own health
                log.debug("the camera preview cannot start", exc_info=True)

    def next_deadline(self, now: float) -> float | None:
        return self._next_look

    def build(self, body: pygame.Rect) -> list[Widget]:
        page = self.page
        kit, m, tr = page.kit, page.kit.metrics, page.tr
        view_w = min(body.width * 58 // 100, int(body.height * 4 / 3))
        view = pygame.Rect(body.x, body.y, view_w, body.height)
        tone = "neutral" if self.check is None else ("good" if not self.check.problems else "adjust")
        picture = CameraView(
            "devices.camera.view",
            view,
            kit,
            self.camera.latest_frame,
            guide_tone=tone,
            waiting_text=tr(CAMERA_WAITING),
            cache=self._cache,
        )
        side = Stack(view.right + m.px(16), body.y, body.right - view.right - m.px(16), gap=m.px(6))
        heading = text(
            "devices.camera.quality", kit, *side.slot(), tr(CAMERA_QUALITY), role="button", bold=True
        )
        side.add(heading, gap=m.px(8))
        for id, words, tone_ in self._readout():
            side.add(text(id, kit, *side.slot(), words, role="small", tone=tone_, max_lines=3))
        return [picture, *side.widgets]

    def _readout(self) -> list[tuple[str, str, str]]:
        from kiosk.photo_quality import DEFAULT_RULES

        tr = self.page.tr
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


class PadTest(DeviceTest):
    """The drawing test on the signature pad (see the module docstring)."""

    key = "pad"
    device_name = "signature_pad"

    def __init__(self, page: DevicesPage, pad: SignaturePad) -> None:
        super().__init__(page)
        self.pad = pad
        self.pen_samples = 0
        self.ink: Ink | None = None
        self._cache: dict = {}

    def start(self) -> None:
        self.ink = Ink("pad", int(self.pad.max_x) + 1, int(self.pad.max_y) + 1, self.page.mode.clock)
        self.pen_samples = 0
        self._cache.clear()
        self.pad.expect_signature()  # the drawing test waits for strokes (the simulated pad signs once)

    def stop(self) -> None:
        self.ink = None  # strokes are not kept
        self._cache.clear()

    def clear(self) -> None:
        """Wipe the strokes of the drawing test."""
        if self.ink is not None:
            self.ink.clear()
        self._cache.clear()
        self.pen_samples = 0
        self.pad.expect_signature()
        self.page.changed()

    def on_event(self, event: Event) -> bool:
        if not isinstance(event, PenSample) or self.ink is None:
            return False
        if event.pen_down or self.ink.samples:
            self.ink.add(event.x, event.y, event.pen_down, t=event.t or None, pressure=event.pressure)
        self.pen_samples += 1
        self.page.mode.session.touch()  # drawing on the pad is activity
        if self.pen_samples % 25 == 1:
            self.page.changed()  # the counter; strokes alone only need a redraw
        return True

    def build(self, body: pygame.Rect) -> list[Widget]:
        page = self.page
        kit, m, tr = page.kit, page.kit.metrics, page.tr
        top = pygame.Rect(body.x, body.y, body.width, m.touch)
        clear_w = m.px(130)
        widgets: list[Widget] = [
            Label(
                "devices.pad.samples",
                (top.x, top.y, top.width // 2, top.height),
                kit,
                tr(PAD_SAMPLES).format(count=self.pen_samples),
                role="small",
                tone="muted",
                valign="middle",
            ),
            Button(
                "devices.pad.clear",
                (top.right - clear_w, top.y, clear_w, top.height),
                kit,
                tr(CLEAR),
                self.clear,
                style="secondary",
                enabled=self.pen_samples > 0,
            ),
        ]
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
                    cache=self._cache,
                )
            )
        return widgets


class PrinterTest(DeviceTest):
    """The test slip (see the module docstring)."""

    key = "printer"
    device_name = "printer"

    def __init__(self, page: DevicesPage, printer: ReceiptPrinter) -> None:
        super().__init__(page)
        self.printer = printer

    def print_slip(self) -> None:
        """Print the test slip (audited)."""
        from hal.printer import Receipt

        page = self.page
        tr, mode = page.tr, page.mode
        now = mode.wall_clock()
        stamp = time.strftime("%Y-%m-%d %H:%M", time.localtime(now))
        receipt = Receipt(
            title=tr(SLIP_TITLE),
            reference=mode.kiosk_id,
            lines=(tr(SLIP_LINE).format(kiosk=mode.kiosk_id), tr(SLIP_TIME).format(time=stamp)),
            qr_data=mode.kiosk_id,
            footer=(tr(SLIP_FOOTER),),
        )
        session, printer = mode.session, self.printer

        def work(progress) -> float:
            with session.action(AuditAction.DEVICE_TEST, "printer: test slip") as act:
                printer.print_receipt(receipt)
                act.detail = "printer: test slip printed"
            return now

        page.scene.start_job(page.scene.job("print"), work)

    def build(self, body: pygame.Rect) -> list[Widget]:
        page = self.page
        kit, m, tr = page.kit, page.kit.metrics, page.tr
        column = Stack(body.x, body.y, min(body.width, m.px(520)), gap=m.px(12))
        column.add(text("devices.printer.about", kit, *column.slot(), tr(PRINTER_ABOUT)), gap=m.px(16))
        job = page.scene.job("print")
        column.add(
            Button(
                "devices.printer.print",
                column.rect(m.px(72)),
                kit,
                tr(PRINT),
                self.print_slip,
                enabled=not job.running,
            )
        )
        if job.running:
            column.add(
                ProgressBar("devices.printer.progress", column.rect(m.px(34)), kit, None, tr(PRINTING))
            )
        elif job.error is not None:
            words = tr(PRINT_FAILED).format(reason=job.error)
            column.add(text("devices.printer.result", kit, *column.slot(), words, tone="error", bold=True))
        elif job.result is not None:
            words = tr(PRINTED).format(time=clock_time(job.result))
            column.add(text("devices.printer.result", kit, *column.slot(), words, tone="success"))
        return column.widgets


class PowerTest(DeviceTest):
    """The UPS's last readings (see the module docstring)."""

    key = "power"
    device_name = "power"
    self_test_label = READ_NOW

    def __init__(self, page: DevicesPage, power: PowerSource) -> None:
        super().__init__(page)
        self.power = power

    def build(self, body: pygame.Rect) -> list[Widget]:
        page = self.page
        kit, m, tr = page.kit, page.kit.metrics, page.tr
        reading = self.power.reading()
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
        inside = Stack(left.x + m.px(16), left.y + m.px(12), left.width - m.px(32), gap=m.px(10))
        for id, words, tone in rows:
            inside.add(
                text(
                    id, kit, *inside.slot(), words, role="button", tone=tone, bold=id == "devices.power.mains"
                )
            )
        height = inside.y - left.y + m.px(4)
        return [Panel("devices.power.readings", (left.x, left.y, left.width, height), kit, inside.widgets)]
