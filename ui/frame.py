"""The frame every full screen shares: a header band at the top, a status bar at the bottom, the content
between them, and overlays (dialogs) over everything.

:class:`FramedScene` builds it; the citizen's :class:`~ui.journey_view.JourneyView` and the technician's
:class:`~ui.maintenance.scene.MaintenanceScene` fill in the parts that differ (the header's contents, what
sits between the header and the content: navigation or tabs, the status bar's items, the overlays).
"""

from __future__ import annotations

import abc

import pygame

from ui.widgets import Container, Kit, Widget


class Header(Widget):
    """The band at the top: the title on the left, buttons on the right."""

    def draw(self, surface: pygame.Surface, now: float) -> None:
        pygame.draw.rect(surface, self.kit.palette.header, self.rect)
        if self.kit.theme.high_contrast:
            m = self.kit.metrics
            pygame.draw.line(
                surface, self.kit.palette.border, self.rect.bottomleft, self.rect.bottomright, m.border
            )


class FramedScene(abc.ABC):
    """Builds the frame; subclasses supply its parts through the ``_frame_*`` methods."""

    #: The id of the frame's root container (and the prefix of its header's id).
    frame_id: str = "screen"

    def _build_frame(self, size: tuple[int, int], kit: Kit) -> Widget:
        """The whole widget tree of one screen."""
        m = kit.metrics
        width, height = size
        root = Container(self.frame_id, (0, 0, width, height), kit)
        top = 0
        if self._frame_has_header():
            band = pygame.Rect(0, 0, width, m.header_height)
            root.add(Header(self._frame_header_id(), band, kit))
            for widget in self._frame_header(band):
                root.add(widget)
            top = band.bottom
        status = pygame.Rect(0, height - m.status_height, width, m.status_height)
        between, content = self._frame_between(pygame.Rect(0, top, width, status.y - top))
        for widget in [*between, *self._frame_content(content)]:
            root.add(widget)
        root.add(self._frame_status(status))
        for overlay in self._frame_overlays(root.rect):
            root.add(overlay)
        return root

    def _frame_has_header(self) -> bool:
        return True

    def _frame_header_id(self) -> str:
        return "header"

    @abc.abstractmethod
    def _frame_header(self, band: pygame.Rect) -> list[Widget]:
        """The header's contents (title, buttons) over the band."""

    @abc.abstractmethod
    def _frame_between(self, area: pygame.Rect) -> tuple[list[Widget], pygame.Rect]:
        """What goes between the header and the status bar besides the content (navigation, tabs), and the
        content's rectangle within ``area``."""

    @abc.abstractmethod
    def _frame_content(self, area: pygame.Rect) -> list[Widget]:
        """The screen's or page's own widgets."""

    @abc.abstractmethod
    def _frame_status(self, rect: pygame.Rect) -> Widget:
        """The status bar."""

    def _frame_overlays(self, area: pygame.Rect) -> list[Widget]:
        """Dialogs over everything, bottom first."""
        return []


def content_rect(area: pygame.Rect, bottom: int, kit: Kit) -> pygame.Rect:
    """A screen's content rectangle: ``area`` (between header and status bar) above ``bottom``, inset by the
    margins; the citizen's screens and the first welcome frame (:mod:`ui.first_frame`) both place it so."""
    m = kit.metrics
    return pygame.Rect(m.margin, area.y + m.gap, area.width - 2 * m.margin, bottom - area.y - m.gap)
