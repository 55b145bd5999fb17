"""The first welcome frame, on the screen before the kiosk behind it is built.

The kiosk restarts after every watchdog trip and power cut, and until its first frame a citizen stands in
front of a dark screen. ``kiosk run`` therefore starts in two phases:

1. :func:`show_first_frame`: the display, the fonts and the real :class:`~ui.screens.welcome.WelcomeScreen`,
   drawn by the same code, in the same frame, as the journey view draws it later; then ``READY=1``.
2. The kiosk is built (devices, outbox, journey, sync, maintenance) and the journey view takes the screen
   over (:func:`ui.kiosk_app.run_kiosk`): the welcome screen is drawn again with what is known now (a device
   that failed, a full outbox, the office's notices, the power and queue in the status bar).

The first frame never handles a touch: nothing reads SDL's event queue until the journey view runs, so a tap
made meanwhile waits in the queue and starts the session as soon as the kiosk is built. Nothing here imports
the journey, the outbox, the devices or the storage library (tests/kiosk/test_warm_up.py checks it)::

    frame = show_first_frame(config)     # display open, welcome screen shown
    watchdog.ready("starting")
    kiosk = build_kiosk(config, events)  # phase 2
    run_kiosk(kiosk, first_frame=frame, watchdog=watchdog)
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TYPE_CHECKING

import pygame

from ui.app import open_display, show
from ui.frame import FramedScene, content_rect
from ui.i18n import LANGUAGES, Translator
from ui.screens.welcome import WelcomeScreen
from ui.status import starting_status_items
from ui.text import TextRenderer, find_fonts
from ui.theme import Theme
from ui.widgets.base import Kit, Widget
from ui.widgets.status_bar import StatusBar

if TYPE_CHECKING:
    from kiosk.config import Config


class WelcomeBeforeStart:
    """What the welcome screen reads from the journey, before the journey exists.

    A journey that was just built is at its welcome step with no refusal, no reset and, until it is told what
    the devices can do, no notices: that is what this says, in the configured language. Its actions are never
    reached (the first frame handles no touch); called anyway, they say so instead of doing nothing.

    Args:
        language: The configured language (:attr:`kiosk.config.KioskSettings.language`).
    """

    refusal: str | None = None
    last_reset: str | None = None
    notices: tuple[str, ...] = ()

    def __init__(self, language: str) -> None:
        # The journey's own rule for its default language (kiosk.journey.Journey).
        self.language = language if language in LANGUAGES else LANGUAGES[0]

    def start(self) -> bool:
        """Not reachable: the touch waits in SDL's queue for the journey view."""
        raise RuntimeError("the first welcome frame handles no touch: the journey is not built yet")

    def set_language(self, language: str) -> bool:
        """Not reachable: the touch waits in SDL's queue for the journey view."""
        raise RuntimeError("the first welcome frame handles no touch: the journey is not built yet")


class FirstFrame(FramedScene):
    """The welcome screen framed as the journey view frames it, with a status bar of what is known.

    It offers the welcome screen what :class:`~ui.journey_view.JourneyView` offers it (``journey``, ``kit``,
    ``clock``), so the same :class:`~ui.screens.welcome.WelcomeScreen` draws it.

    Args:
        language: The configured language.
        text: The text renderer; the journey view takes it over, with the texts it already rendered.
        clock: Monotonic seconds (the attract loop's timer).
        kiosk_id: Shown at the right of the status bar, as the journey view shows it.
        high_contrast: The configured theme.
    """

    def __init__(
        self,
        *,
        language: str,
        text: TextRenderer,
        clock: Callable[[], float] = time.monotonic,
        kiosk_id: str = "",
        high_contrast: bool = False,
    ) -> None:
        self.journey = WelcomeBeforeStart(language)
        self.text = text
        self.clock = clock
        self.kiosk_id = kiosk_id
        self.high_contrast = high_contrast
        self.translator = Translator(self.journey.language)
        self.kit = Kit(Theme.create(800, 480, high_contrast=high_contrast), text, self.translator)
        self.screen = WelcomeScreen(self)

    def root(self, size: tuple[int, int]) -> Widget:
        """The widget tree at ``size`` (the display's)."""
        self.kit = Kit(Theme.create(*size, high_contrast=self.high_contrast), self.text, self.translator)
        return self._build_frame(size, self.kit)

    def draw(self) -> None:
        """Draw the frame on the open display and show it."""
        surface = pygame.display.get_surface()
        show(self.root(surface.get_size()), self.clock())

    def close(self) -> None:
        """Close the display (``kiosk run`` could not build the kiosk); calling it again does nothing."""
        pygame.display.quit()

    # -- the frame's parts (FramedScene), as the journey view makes them for the welcome step -------------
    def _frame_has_header(self) -> bool:
        return self.screen.header

    def _frame_header(self, band: pygame.Rect) -> list[Widget]:
        return []  # never asked: the welcome screen has no header band

    def _frame_between(self, area: pygame.Rect) -> tuple[list[Widget], pygame.Rect]:
        # The welcome screen has no navigation bar: the content reaches the status bar.
        return [], content_rect(area, area.bottom, self.kit)

    def _frame_content(self, area: pygame.Rect) -> list[Widget]:
        return list(self.screen.build(area))

    def _frame_status(self, rect: pygame.Rect) -> Widget:
        return StatusBar("status", rect, self.kit, starting_status_items(self.kit.tr), right=self.kiosk_id)

    def _frame_overlays(self, area: pygame.Rect) -> list[Widget]:
        overlay = self.screen.overlay(area)
        return [overlay] if overlay is not None else []


def show_first_frame(
    config: Config,
    *,
    size: tuple[int, int] | None = None,
    clock: Callable[[], float] = time.monotonic,
) -> FirstFrame:
    """Open the display and show the welcome screen on it (phase 1 of ``kiosk run``).

    Args:
        config: The kiosk's config (display, font, language, theme, kiosk id).
        size: The display size, when not the configured one (the autopilot's first size).
        clock: Monotonic seconds: the clock the journey will run on.
    """
    open_display(size or tuple(config.ui.size), fullscreen=config.ui.fullscreen)
    frame = FirstFrame(
        language=config.kiosk.language,
        text=TextRenderer(find_fonts(config.ui.font)),
        clock=clock,
        kiosk_id=config.kiosk.id,
        high_contrast=config.ui.high_contrast,
    )
    frame.draw()
    return frame
