"""The face photo: live preview in a face guide, plain-word guidance, a countdown, accept or retake.

The face check (:class:`kiosk.photo_quality.PhotoQualityWorker`) runs on its own thread and posts a
:class:`PhotoChecked` event; the capture (a full-resolution JPEG, then decoded for the preview of the
result) runs on a worker thread. The screen itself only blits the camera's newest frame.
"""

from __future__ import annotations

import logging
import math
from concurrent.futures import Future
from dataclasses import dataclass

import pygame

from hal.events import Event
from kiosk.devices import switched_off
from kiosk.journey import Step
from ui.i18n import N_
from ui.messages import photo_message
from ui.pictures import decode, to_surface
from ui.screens.base import Nav, Screen
from ui.widgets import Button, CameraView, Label, Spinner, Stack, Widget

log = logging.getLogger(__name__)

TITLE = N_("Your face photo")
INSTRUCTIONS = N_("Look at the camera. Keep your face inside the oval, without a hat or sunglasses.")
WAITING = N_("Starting the camera…")
TAKE = N_("Take photo")
SKIP = N_("Take my photo at the counter instead")
RETAKE = N_("Retake")
ACCEPT = N_("Use this photo")
CAPTURING = N_("Taking the photo…")
REVIEW = N_("Is this photo good? You can take it again.")
FAILED = N_("The camera did not take the photo. You can try again, or have your photo taken at the counter.")
TRY_AGAIN = N_("Try again")
GET_READY = N_("Hold still…")

#: Seconds of countdown before the capture.
COUNTDOWN_S = 3


@dataclass(frozen=True)
class PhotoChecked(Event):
    """A face-check result for one preview frame (posted by the face-check thread)."""

    problems: tuple[str, ...]
    seq: int


class PhotoScreen(Screen):
    """The photo step (see the module docstring)."""

    step = Step.PHOTO

    def __init__(self, view) -> None:
        super().__init__(view)
        self.state = "live"  # live, countdown, capturing, review, failed
        self.problems: tuple[str, ...] | None = None
        self.countdown_end: float | None = None
        self.photo_jpeg: bytes | None = None
        self.photo_image: pygame.Surface | None = None
        self._camera = view.devices.camera
        self._worker = None
        self._view_cache: dict = {}
        self._capture: Future | None = None

    # -- lifecycle ------------------------------------------------------------------------------
    def enter(self) -> None:
        camera = self._camera
        if switched_off(camera):
            return
        try:
            camera.start_preview()
        except Exception:  # a camera that cannot start shows as failed; the journey skips the photo
            log.exception("the camera preview did not start")
            return
        try:
            self._worker = self.view.face_check(camera, self._checked)
            self._worker.start()
        except Exception:  # without guidance the citizen can still take the photo
            log.exception("the face check did not start")
            self._worker = None

    def _checked(self, assessment, seq: int) -> None:
        # On the face-check thread: only post, never touch the screen's state.
        self.view.post(PhotoChecked(problems=tuple(str(p) for p in assessment.problems), seq=seq))

    def leave(self) -> None:
        worker, camera = self._worker, self._camera
        self._worker = None
        # Drop the photo from this screen: it now lives only in the journey (or nowhere after a wipe).
        self.photo_jpeg = None
        self.photo_image = None
        self._view_cache.clear()

        def stop() -> None:
            # Both join threads (up to a camera timeout): never on the UI thread.
            if worker is not None:
                worker.stop()
            camera.stop_preview()

        try:
            self.view.run_in_background(stop, lambda future: None)
        except RuntimeError:
            stop()

    # -- events and time ------------------------------------------------------------------------
    def on_event(self, event: Event) -> bool:
        live = self.state in ("live", "countdown")
        if isinstance(event, PhotoChecked) and live and event.problems != self.problems:
            self.problems = event.problems
            self.changed()
            return True
        return False

    def update(self, now: float) -> None:
        if self.state == "countdown" and self.countdown_end is not None:
            if now >= self.countdown_end:
                self._start_capture()
            else:
                self.changed()  # the number shown changes each second

    def next_deadline(self, now: float) -> float | None:
        if self.state == "countdown" and self.countdown_end is not None:
            left = self.countdown_end - now
            return now + (left - math.floor(left) if left > 1 else max(0.0, left)) + 1e-3
        return None

    # -- actions --------------------------------------------------------------------------------
    def take(self) -> None:
        """Start the countdown."""
        self.state = "countdown"
        self.countdown_end = self.view.clock() + COUNTDOWN_S
        self.changed()

    def _start_capture(self) -> None:
        self.state = "capturing"
        self.countdown_end = None
        self.changed()
        camera = self._camera

        def capture():
            jpeg = camera.capture_jpeg()
            # Decoding a still takes tens of milliseconds on a Pi: done here, not in a frame.
            return jpeg, decode(jpeg)

        self._capture = self.view.run_in_background(capture, self._captured)

    def _captured(self, future: Future) -> None:
        if future is not self._capture or self.view.screen is not self:
            return  # the citizen left (or the session was wiped) while the camera worked
        self._capture = None
        try:
            self.photo_jpeg, pixels = future.result()
            self.photo_image = to_surface(pixels)
        except Exception as exc:  # noqa: BLE001 - any camera failure is shown the same way
            log.warning("photo capture failed: %s", type(exc).__name__)
            self.state = "failed"
        else:
            self.state = "review"
        self.changed()

    def retake(self) -> None:
        """Back to the live picture."""
        self.photo_jpeg = None
        self.photo_image = None
        self.state = "live"
        self.changed()

    def accept(self) -> None:
        """Give the photo to the journey."""
        jpeg = self.photo_jpeg
        if jpeg:
            self.journey.photo_taken(jpeg)

    # -- Screen ---------------------------------------------------------------------------------
    def title(self) -> str:
        return self.tr(TITLE)

    def nav(self) -> Nav:
        return Nav(next_label=None)

    def build(self, area: pygame.Rect) -> list[Widget]:
        m = self.kit.metrics
        view_w = min(int(area.height * 4 / 3), area.width * 58 // 100)
        view_rect = pygame.Rect(area.x, area.y, view_w, area.height)
        side = pygame.Rect(
            view_rect.right + m.px(18), area.y, area.right - view_rect.right - m.px(18), area.height
        )
        if self.state in ("live", "countdown"):
            beside = self._live_side(side)
        elif self.state == "capturing":
            beside = self._capturing_side(side)
        elif self.state == "review":
            beside = self._review_side(side)
        else:
            beside = self._failed_side(side)
        return self._picture(view_rect) + beside

    def _picture(self, view_rect: pygame.Rect) -> list[Widget]:
        """The live picture (or the photo taken), with the countdown over it."""
        kit, tr = self.kit, self.tr
        tone = "neutral" if self.problems is None else ("good" if not self.problems else "adjust")
        frozen = self.photo_image if self.state == "review" else None
        widgets: list[Widget] = [
            CameraView(
                "photo.camera",
                view_rect,
                kit,
                self._camera.latest_frame,
                guide_tone=tone,
                frozen=frozen,
                waiting_text=tr(WAITING),
                mirror=frozen is None,
                cache=self._view_cache,
            )
        ]
        if self.state == "countdown" and self.countdown_end is not None:
            left = max(1, math.ceil(self.countdown_end - self.view.clock()))
            widgets.append(
                Label(
                    "photo.countdown",
                    view_rect,
                    kit,
                    str(left),
                    role="display",
                    tone="inverse",
                    align="center",
                    valign="middle",
                    bold=True,
                )
            )
        return widgets

    def _live_side(self, side: pygame.Rect) -> list[Widget]:
        """Guidance from the face check, then "take" and "skip" at the bottom."""
        kit, m, tr = self.kit, self.kit.metrics, self.tr
        problem = self.problems[0] if self.problems else None
        guidance = (
            tr(GET_READY)
            if self.state == "countdown"
            else (photo_message(tr, problem) if self.problems is not None else tr(INSTRUCTIONS))
        )
        title_tone = "success" if self.problems == () else ("warning" if self.problems else "normal")
        column = Stack(side.x, side.y, side.width, gap=m.px(10))
        column.add(
            _fitted(
                Label(
                    "photo.guidance", column.rect(1), kit, guidance, role="title", tone=title_tone, bold=True
                )
            )
        )
        skip_h, take_h = m.touch, m.px(72)
        take_top = side.bottom - skip_h - m.gap - take_h
        if self.problems is not None and self.state == "live":
            text = _fitted(
                Label("photo.instructions", column.rect(1), kit, tr(INSTRUCTIONS), role="small", tone="muted")
            )
            if text.rect.bottom <= take_top - m.px(6):  # only when it fits above the buttons
                column.add(text)
        return [
            *column.widgets,
            Button(
                "photo.take",
                (side.x, take_top, side.width, take_h),
                kit,
                tr(TAKE),
                self.take,
                enabled=self.state == "live" and not switched_off(self._camera),
            ),
            self._skip_button(pygame.Rect(side.x, side.bottom - skip_h, side.width, skip_h)),
        ]

    def _skip_button(self, rect: pygame.Rect) -> Button:
        return Button(
            "photo.skip", rect, self.kit, self.tr(SKIP), self.journey.skip_photo, style="quiet", bold=False
        )

    def _capturing_side(self, side: pygame.Rect) -> list[Widget]:
        kit, m = self.kit, self.kit.metrics
        column = Stack(side.x, side.y, side.width)
        column.add(
            Label(
                "photo.capturing",
                column.rect(kit.text.line_height(m.text_title) * 2),
                kit,
                self.tr(CAPTURING),
                role="title",
            )
        )
        column.add(Spinner("photo.spinner", column.rect(m.px(40)), kit))
        return column.widgets

    def _review_side(self, side: pygame.Rect) -> list[Widget]:
        kit, m, tr = self.kit, self.kit.metrics, self.tr
        accept = pygame.Rect(side.x, side.bottom - m.touch - m.gap - m.px(72), side.width, m.px(72))
        return [
            _fitted(Label("photo.review", (side.x, side.y, side.width, 1), kit, tr(REVIEW), role="title")),
            Button("photo.accept", accept, kit, tr(ACCEPT), self.accept),
            Button(
                "photo.retake",
                (side.x, side.bottom - m.touch, side.width, m.touch),
                kit,
                tr(RETAKE),
                self.retake,
                style="secondary",
            ),
        ]

    def _failed_side(self, side: pygame.Rect) -> list[Widget]:
        kit, m, tr = self.kit, self.kit.metrics, self.tr
        again = pygame.Rect(side.x, side.bottom - m.touch - m.gap - m.px(72), side.width, m.px(72))
        failed = Label(
            "photo.failed", (side.x, side.y, side.width, 1), kit, tr(FAILED), tone="error", bold=True
        )
        return [
            _fitted(failed),
            Button("photo.retry", again, kit, tr(TRY_AGAIN), self.retake),
            self._skip_button(pygame.Rect(side.x, side.bottom - m.touch, side.width, m.touch)),
        ]


def _fitted(label: Label) -> Label:
    """``label`` made as tall as its lines."""
    label.rect.height = label.content_height()
    return label
