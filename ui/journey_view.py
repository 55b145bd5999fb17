"""The citizen's screens: renders the :class:`~kiosk.journey.Journey` and feeds it touches.

This is the :class:`~ui.app.Scene` the main loop drives. It picks the screen for the journey's
step, frames it with the header, the navigation bar and the status bar, lays the "need more
time?" warning over it when the journey says so, and tells the journey what the kiosk can do right now,
as :class:`~kiosk.state.KioskState` (fed by the main loop, not by this view) says.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable
from concurrent.futures import Future
from typing import Any, Protocol

import pygame

from hal.events import Event, EventQueue
from kiosk.assembly import FaceCheck, face_check
from kiosk.devices import Devices
from kiosk.journey import Journey, SaveRequest, Step
from kiosk.memory import return_free_memory
from kiosk.state import KioskState
from ui.frame import FramedScene, content_rect
from ui.i18n import LANGUAGE_NAMES, LANGUAGES, N_, Translator
from ui.screens import SCREENS
from ui.screens.base import BACK, CANCEL, Screen
from ui.status import status_items
from ui.text import TextRenderer
from ui.theme import Theme
from ui.widgets import Button, Dialog, Kit, Label, ProgressSteps, StatusBar, Widget, share_text_size

log = logging.getLogger(__name__)

_IDLE_TITLE = N_("Do you need more time?")
_IDLE_BODY = N_("For your privacy, everything you entered will be erased in {seconds} seconds.")
#: On the receipt nothing is erased (the record is saved): the warning says only that the screen closes.
_IDLE_BODY_SAVED = N_("Your data is saved. This screen closes in {seconds} seconds.")
_IDLE_CONTINUE = N_("Yes, continue")
_IDLE_END = N_("No, end now")
_START_OVER_TITLE = N_("Start over?")
_START_OVER_BODY = N_("Everything you entered will be erased.")
_START_OVER_YES = N_("Yes, erase")
_START_OVER_NO = N_("No, go on")


class SupportsSubmit(Protocol):
    """Saves a confirmed journey (:class:`kiosk.registration.Registration`)."""

    def submit(self, request: SaveRequest) -> object: ...


class JourneyView(FramedScene):
    """Shows the journey on the display.

    Args:
        journey: The state machine of the citizen journey.
        state: What the kiosk knows and can do (fed the events by the main loop); read here only.
        text: The text renderer (one for the life of the process: its cache survives screens).
        clock: Monotonic seconds (the same clock the journey was given).
        devices: The kiosk's devices (null objects for those switched off).
        registration: Saves a confirmed journey: ``submit(request)`` on a worker thread that posts
            ``RecordSaved`` / ``RecordSaveFailed``.
        kiosk_id: Shown in the status bar so staff can tell kiosks apart.
        high_contrast: Start with the high-contrast theme.
        face_check: Makes the face-check worker for the photo step (the kiosk's own).
        events: The main loop's queue, for results of workers the screens start (the face check).
    """

    def __init__(
        self,
        journey: Journey,
        *,
        state: KioskState,
        text: TextRenderer,
        clock: Callable[[], float],
        devices: Devices,
        registration: SupportsSubmit | None = None,
        kiosk_id: str = "",
        high_contrast: bool = False,
        face_check: FaceCheck = face_check,
        events: EventQueue | None = None,
    ) -> None:
        self.journey = journey
        self.events = events
        self.state = state
        self.text = text
        self.clock = clock
        self.devices = devices
        self.registration = registration
        self.kiosk_id = kiosk_id
        self.high_contrast = high_contrast
        self._configured_contrast = high_contrast
        self.face_check = face_check
        self.translator = Translator(journey.language)
        self.kit: Kit = Kit(Theme.create(800, 480, high_contrast=high_contrast), text, self.translator)
        self._size: tuple[int, int] | None = None
        self._screen: Screen | None = None
        self._screen_step: Step | None = None
        self._tree: Widget | None = None
        self._tree_key: tuple | None = None
        #: The journey's revision when "Mulai lagi" was tapped with answers entered (the question is up).
        self._start_over_revision: int | None = None
        self._background: Callable[[Callable[[], Any], Callable[[Future], Any]], Future] | None = None
        self._wake: Callable[[], None] | None = None
        self.journey.update_capabilities(self.state.capabilities())

    # -- wiring -----------------------------------------------------------------------------------
    def attach(self, app) -> None:
        """Connect to the app whose worker threads and wake-up the screens use."""
        self._background = app.run_in_background
        self._wake = app.wake

    def run_in_background(self, work: Callable[[], Any], done: Callable[[Future], Any]) -> Future:
        """Run ``work`` off the UI thread and ``done(future)`` back on it."""
        if self._background is None:
            raise RuntimeError("the journey view is not attached to an app")
        return self._background(work, done)

    def wake(self) -> None:
        """Wake the main loop (from any thread)."""
        if self._wake is not None:
            self._wake()

    @property
    def screen(self) -> Screen:
        """The screen of the current step (made when the step changes)."""
        self._sync_screen()
        assert self._screen is not None
        return self._screen

    def post(self, event: Event) -> None:
        """Put ``event`` on the main loop's queue (thread-safe; it wakes the loop)."""
        if self.events is not None:
            self.events.post(event)

    def set_high_contrast(self, on: bool) -> None:
        """Switch the high-contrast theme on or off."""
        self.high_contrast = on
        self._size = None

    # -- Scene ------------------------------------------------------------------------------------
    def root(self, size: tuple[int, int]) -> Widget:
        """The widget tree for the current state; rebuilt only when something it shows changed."""
        if size != self._size:
            self._size = size
            self.kit = Kit(Theme.create(*size, high_contrast=self.high_contrast), self.text, self.translator)
            self._tree_key = None
        self.translator.set_language(self.journey.language)
        screen = self.screen
        countdown = self.journey.seconds_until_reset()
        key = (
            id(self.kit),
            self.journey.step,
            self.journey.revision,
            self.journey.language,
            id(screen),
            screen.version,
            self.state.view(),
            math.ceil(countdown) if countdown is not None else None,
            self._asking_start_over(),
        )
        if key != self._tree_key or self._tree is None:
            self._tree = self._build(screen)
            self._tree_key = key
        return self._tree

    def handle_event(self, event: Event) -> bool:
        """A device, power, sync or registration event drained by the main loop; True = redraw."""
        revision = self.journey.revision
        # The main loop gave the event to the kiosk's state first; the journey follows what it now says.
        self.journey.update_capabilities(self.state.capabilities())
        self.journey.apply_event(event)
        self._sync_screen()
        if self._screen is not None and self._screen.on_event(event):
            return True
        return self.journey.revision != revision

    def touched(self) -> None:
        """Any touch restarts the idle timer.

        While the "need more time?" warning is up, the touch is left to the warning's own buttons
        (clearing it here would pull "No, end now" away from under the finger).
        """
        if not self.journey.idle_warning:
            self.journey.touch()

    def update(self, now: float) -> None:
        """Advance the journey's idle timers and the screen's own."""
        self.journey.update_capabilities(self.state.capabilities())
        self.journey.tick()
        self._sync_screen()
        if self._screen is not None:
            self._screen.update(now)

    def next_deadline(self, now: float) -> float | None:
        """When the view has something to do without input."""
        deadlines = []
        idle_deadline = self.journey.idle_deadline()
        if idle_deadline is not None:
            deadlines.append(idle_deadline)
        if self.journey.idle_warning:
            deadlines.append(now + 1.0)  # the "need more time?" countdown shows whole seconds
        screen_deadline = self.screen.next_deadline(now)
        if screen_deadline is not None:
            deadlines.append(screen_deadline)
        return min(deadlines) if deadlines else None

    def key(self, event: pygame.event.Event) -> None:
        """A physical keyboard (desktop): handed to the screen."""
        self.screen.key(event)

    def shown(self) -> object:
        """The screen shown (a new object at every step change) and its page."""
        return (self.screen, self.screen.page_shown())

    # -- internals --------------------------------------------------------------------------------
    def _sync_screen(self) -> None:
        step = self.journey.step
        if self._screen is not None and self._screen_step is step:
            return
        if self._screen is not None:
            try:
                self._screen.leave()
            except Exception:  # leaving a screen must never keep the citizen stuck on it
                log.exception("leaving the %s screen failed", self._screen_step)
        if step is Step.WELCOME and self._screen_step not in (None, Step.WELCOME):
            self._end_of_session()
        elif Step.PHOTO in self.journey.progress()[0] and _before_photo(step):
            # The citizen's service takes a photo: the face check's process starts now, in the background,
            # so that it is ready when they reach the photo step (open() does nothing if it runs already).
            self.face_check.open()
        elif step in _AFTER_PHOTO:
            self.face_check.close()  # photo taken or skipped: the process (and OpenCV) go before the receipt
        self.translator.set_language(self.journey.language)
        if step is Step.WELCOME and self.high_contrast != self._configured_contrast:
            self.set_high_contrast(self._configured_contrast)  # a citizen's choice ends with their session
        self._screen = SCREENS[step](self)
        self._screen_step = step
        self._tree_key = None
        self._screen.enter()

    def _end_of_session(self) -> None:
        """A citizen's session ended (receipt, cancel or idle): forget what it left behind in memory.

        The text cache holds a surface for every prefix of every number and name they typed, the camera its
        last frame of their face; both go, the face check's process exits (with OpenCV in it), and the freed
        memory is handed back (kiosk.memory).
        """
        self.face_check.close()
        self.text.clear()
        self.devices.camera.forget_last_frame()
        return_free_memory()

    def _build(self, screen: Screen) -> Widget:
        m = self.kit.metrics
        return self._build_frame(self._size or (m.width, m.height), self.kit)

    # -- the frame's parts (FramedScene) -----------------------------------------------------------
    def _frame_has_header(self) -> bool:
        return self.screen.header

    def _frame_header(self, band: pygame.Rect) -> list[Widget]:
        widgets: list[Widget] = []
        self._header_contents(widgets, band, self.screen)
        return widgets

    def _frame_between(self, area: pygame.Rect) -> tuple[list[Widget], pygame.Rect]:
        m = self.kit.metrics
        widgets: list[Widget] = []
        bottom = area.bottom
        nav = self.screen.nav()
        if nav is not None:
            nav_rect = pygame.Rect(
                m.margin, area.bottom - m.gap - m.touch, area.width - 2 * m.margin, m.touch
            )
            bottom = nav_rect.y - m.gap
            self._nav_buttons(widgets, nav_rect, nav)
        return widgets, content_rect(area, bottom, self.kit)

    def _frame_content(self, area: pygame.Rect) -> list[Widget]:
        return list(self.screen.build(area))

    def _frame_status(self, rect: pygame.Rect) -> Widget:
        return StatusBar(
            "status", rect, self.kit, status_items(self.state.view(), self.kit.tr), right=self.kiosk_id
        )

    def _frame_overlays(self, area: pygame.Rect) -> list[Widget]:
        overlays = []
        overlay = self.screen.overlay(area)
        if overlay is not None:
            overlays.append(overlay)
        if self.journey.idle_warning:
            overlays.append(self._idle_dialog(area))
        elif self._asking_start_over():
            overlays.append(self._start_over_dialog(area))
        return overlays

    # -- "Start over": asked first when it would discard what the citizen entered -----------------
    def start_over(self) -> None:
        """ "Mulai lagi": at once when nothing was entered, else after the citizen confirms."""
        if self.journey.has_answers():
            # Asked for this state of the journey only: any change (a step, the idle wipe) closes it.
            self._start_over_revision = self.journey.revision
        else:
            self.journey.cancel()

    def _asking_start_over(self) -> bool:
        return self._start_over_revision == self.journey.revision

    def _dismiss_start_over(self) -> None:
        self._start_over_revision = None

    def _start_over_dialog(self, area: pygame.Rect) -> Widget:
        tr = self.kit.tr
        return Dialog(
            "start_over",
            area,
            self.kit,
            tr(_START_OVER_TITLE),
            tr(_START_OVER_BODY),
            [
                ("yes", tr(_START_OVER_YES), self.journey.cancel, "secondary"),
                ("no", tr(_START_OVER_NO), self._dismiss_start_over, "primary"),
            ],
            tone="warning",
            on_outside=self._dismiss_start_over,
        )

    def _header_contents(self, into: list[Widget], band: pygame.Rect, screen: Screen) -> None:
        kit, m = self.kit, self.kit.metrics
        other = next(code for code in LANGUAGES if code != self.journey.language)
        lang_w = m.px(190)
        lang = pygame.Rect(
            band.right - m.margin - lang_w, band.y + (band.height - m.touch_min) // 2, lang_w, m.touch_min
        )
        into.append(
            Button(
                "header.language",
                lang,
                kit,
                LANGUAGE_NAMES[other],
                lambda: self.journey.set_language(other),
                style="secondary",
                bold=False,
            )
        )
        steps, index = self.journey.progress()
        progress_w = m.px(16) * len(steps) + m.px(10)
        right = lang.x - m.gap
        if index >= 0:
            progress = pygame.Rect(right - progress_w, band.y, progress_w, band.height)
            into.append(ProgressSteps("header.progress", progress, kit, index, len(steps)))
            right = progress.x - m.gap
        title_rect = pygame.Rect(m.margin, band.y, right - m.margin, band.height)
        title = screen.title()
        size_title = kit.text.fit_size(title, m.text_title, title_rect.width, bold=True)
        label = Label(
            "header.title", title_rect, kit, title, role="title", tone="inverse", valign="middle", bold=True
        )
        if size_title < m.text_title:
            label.role = "button"
        into.append(label)

    def _nav_buttons(self, into: list[Widget], rect: pygame.Rect, nav) -> None:
        kit, m = self.kit, self.kit.metrics
        tr = kit.tr
        row: list[Button] = []
        left_end = rect.x  # where the next button may begin, at the latest
        if nav.back:
            row.append(
                Button(
                    "nav.back",
                    (rect.x, rect.y, m.px(150), rect.height),
                    kit,
                    "\u2039  " + tr(BACK),
                    nav.on_back or self.journey.back,
                    style="secondary",
                )
            )
            left_end = row[-1].rect.right
        if nav.cancel:
            cancel_w = m.px(170)
            row.append(
                Button(
                    "nav.cancel",
                    (rect.centerx - cancel_w // 2 - m.px(40), rect.y, cancel_w, rect.height),
                    kit,
                    tr(CANCEL),
                    self.start_over,
                    style="quiet",
                    bold=False,
                )
            )
            left_end = row[-1].rect.right
        if nav.next_label is not None:
            label = tr(nav.next_label) + "\u00a0\u00a0\u203a"
            # As wide as its label needs at the button size ("Pakai tanda tangan ini ›"), up to the room
            # its neighbours leave, so that it is not the one label of the row shrunk or wrapped.
            labels = [label] + ([tr(nav.next_width_of) + "\u00a0\u00a0\u203a"] if nav.next_width_of else [])
            needed = max(kit.text.width(each, m.text_button, bold=True) for each in labels) + 2 * m.px(20)
            button_w = min(m.px(230), (rect.width - 2 * m.gap) // 3)
            button_w = max(button_w, min(needed, rect.right - left_end - m.gap))
            row.append(
                Button(
                    "nav.next",
                    (rect.right - button_w, rect.y, button_w, rect.height),
                    kit,
                    label,
                    nav.on_next or self.journey.next,
                    enabled=nav.next_enabled,
                )
            )
        share_text_size(row)
        into.extend(row)

    def _idle_dialog(self, area: pygame.Rect) -> Widget:
        tr = self.kit.tr
        seconds = math.ceil(self.journey.seconds_until_reset() or 0)
        return Dialog(
            "idle",
            area,
            self.kit,
            tr(_IDLE_TITLE),
            tr(_IDLE_BODY_SAVED if self.journey.step is Step.RECEIPT else _IDLE_BODY).format(seconds=seconds),
            [
                ("end", tr(_IDLE_END), self.journey.cancel, "secondary"),
                ("continue", tr(_IDLE_CONTINUE), self.journey.touch, "primary"),
            ],
            tone="warning",
            on_outside=self.journey.touch,
        )


#: The steps after the photo: the face check is no longer needed (a citizen who goes back starts it again).
_AFTER_PHOTO = (Step.SIGNATURE, Step.REVIEW, Step.SAVING, Step.RECEIPT)


def _before_photo(step: Step) -> bool:
    """Whether ``step`` comes before the photo step (or is it): the steps on the way to it."""
    return step in (Step.LANGUAGE, Step.SERVICE, Step.CHECKLIST, Step.IDENTITY, Step.DETAILS, Step.PHOTO)
