"""The base of every journey screen and the frame (header, navigation, status bar) around it."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar

import pygame

from hal.events import Event
from kiosk.steps import Step
from ui.i18n import N_, Translator
from ui.widgets.base import Kit, Widget

if TYPE_CHECKING:
    from kiosk.journey import Journey
    from ui.journey_view import JourneyView

BACK = N_("Back")
NEXT = N_("Next")
CANCEL = N_("Start over")


@dataclass
class Nav:
    """The navigation bar of a screen: which buttons, with what labels and actions."""

    back: bool = True
    next_label: str | None = NEXT
    next_enabled: bool = True
    on_next: Callable[[], Any] | None = None
    #: What "Kembali" does (default: the journey's previous step); a paged form turns back a page first.
    on_back: Callable[[], Any] | None = None
    cancel: bool = True
    #: Size the next button as if its label were this one as well (the receipt's "Done" takes the place
    #: of "Confirm and save", so that the second tap of a double tap lands on it, greyed).
    next_width_of: str | None = None


class Screen:
    """One step of the journey on screen.

    A screen instance lives while its step is shown; widgets are rebuilt from the journey's state
    (and the screen's own transient state) whenever either changes, so a screen keeps in its
    attributes whatever must survive a rebuild (the field being edited, a list's scroll position,
    the strokes of a signature) and bumps :attr:`version` when it changes them.

    Args:
        view: The journey view that shows this screen.
    """

    step: ClassVar[Step]
    #: Whether the screen shows the standard header with title and progress.
    header = True

    def __init__(self, view: JourneyView) -> None:
        self.view = view
        self.version = 0

    # -- shortcuts ------------------------------------------------------------------------------
    @property
    def journey(self) -> Journey:
        """The journey this screen renders."""
        return self.view.journey

    @property
    def kit(self) -> Kit:
        """Theme, text, translator."""
        return self.view.kit

    @property
    def tr(self) -> Translator:
        """The translator, set to the citizen's language."""
        return self.view.kit.tr

    def changed(self) -> None:
        """The screen's own state changed: rebuild its widgets."""
        self.version += 1

    # -- lifecycle ------------------------------------------------------------------------------
    def enter(self) -> None:
        """The step became current (start the camera, the printer, ...)."""

    def leave(self) -> None:
        """The step is no longer current (stop what :meth:`enter` started)."""

    # -- content --------------------------------------------------------------------------------
    def title(self) -> str:
        """The title in the header, translated."""
        return ""

    def build(self, area: pygame.Rect) -> list[Widget]:
        """The widgets of the content area."""
        return []

    def nav(self) -> Nav | None:
        """The navigation bar; None for screens without one (welcome, saving)."""
        return Nav()

    def overlay(self, area: pygame.Rect) -> Widget | None:
        """A dialog over the screen (a confirmation), or None."""
        return None

    # -- input and time -------------------------------------------------------------------------
    def on_event(self, event: Event) -> bool:
        """An event from the queue (pen samples, face checks); True when the screen must redraw.

        A screen whose widgets must be rebuilt for it calls :meth:`changed` as well.
        """
        return False

    def page_shown(self) -> int:
        """Which page of the screen is shown (a paged form); a page turn counts as a screen change."""
        return 0

    def update(self, now: float) -> None:
        """Advance the screen's own timers (countdowns)."""

    def next_deadline(self, now: float) -> float | None:
        """When :meth:`update` next has something to do, or None."""
        return None

    def key(self, event: pygame.event.Event) -> None:
        """A physical keyboard key (desktop use)."""
