"""The base of every maintenance page, and small layout helpers they share."""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar, Literal

import pygame

from hal.events import Event
from ui.widgets import Kit, Label, Widget
from ui.widgets.label import Role, Tone

if TYPE_CHECKING:
    from ui.maintenance.i18n import MaintenanceTranslator
    from ui.maintenance.mode import MaintenanceMode
    from ui.maintenance.scene import MaintenanceScene


class Page:
    """One maintenance page (a tab), living as long as its maintenance scene.

    Like a citizen screen, a page rebuilds its widgets from its state whenever the scene's version changes,
    so whatever must survive a rebuild lives in the page's attributes; a page calls :meth:`changed` after
    changing them.

    Args:
        scene: The maintenance scene that shows this page.
    """

    key: ClassVar[str]
    #: The tab's label (a maintenance catalog message).
    label: ClassVar[str]

    def __init__(self, scene: MaintenanceScene) -> None:
        self.scene = scene

    # -- shortcuts ------------------------------------------------------------------------------
    @property
    def mode(self) -> MaintenanceMode:
        """What maintenance works with (session, devices, outbox, ...)."""
        return self.scene.mode

    @property
    def kit(self) -> Kit:
        """Theme, text, translator."""
        return self.scene.kit

    @property
    def tr(self) -> MaintenanceTranslator:
        """The translator (technician's language)."""
        return self.scene.translator

    def changed(self) -> None:
        """The page's state changed: rebuild its widgets."""
        self.scene.changed()

    # -- lifecycle ------------------------------------------------------------------------------
    def enter(self) -> None:
        """The page is now shown (start a preview, read data)."""

    def leave(self) -> None:
        """The page is no longer shown (stop what :meth:`enter` started)."""

    # -- content --------------------------------------------------------------------------------
    def build(self, area: pygame.Rect) -> list[Widget]:
        """The widgets of the content area."""
        return []

    def overlay(self, area: pygame.Rect) -> Widget | None:
        """A dialog over the page (a confirmation), or None."""
        return None

    # -- events and time ------------------------------------------------------------------------
    def on_event(self, event: Event) -> bool:
        """An event from the queue; True when the screen must redraw."""
        return False

    def update(self, now: float) -> None:
        """Advance the page's own timers."""

    def next_deadline(self, now: float) -> float | None:
        """When :meth:`update` next has something to do, or None."""
        return None

    def keyboard(self, event: pygame.event.Event) -> None:
        """A physical keyboard's key (a technician may plug one in)."""


def text(
    id: str,
    kit: Kit,
    x: int,
    y: int,
    width: int,
    words: str,
    *,
    role: Role = "body",
    tone: Tone = "normal",
    bold: bool = False,
    align: Literal["left", "center", "right"] = "left",
    max_lines: int | None = None,
) -> Label:
    """A label at (x, y), as tall as its wrapped text (at most ``max_lines`` lines)."""
    label = Label(id, (x, y, width, 1), kit, words, role=role, tone=tone, bold=bold, align=align)
    lines = len(label.lines()) if words else 0
    height = label.content_height() if words else 0
    if max_lines is not None and lines > max_lines:
        height = height * max_lines // lines
    label.rect.height = max(1, height)
    return label


def columns(area: pygame.Rect, kit: Kit, share: float) -> tuple[pygame.Rect, pygame.Rect]:
    """Split ``area`` into a left column of ``share`` of its width and a right one, with a gap between."""
    gap = kit.metrics.px(16)
    left_w = round((area.width - gap) * share)
    left = pygame.Rect(area.x, area.y, left_w, area.height)
    right = pygame.Rect(left.right + gap, area.y, area.right - left.right - gap, area.height)
    return left, right
