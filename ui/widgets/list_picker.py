"""A scrolling list of choices (kecamatan, kelurahan, religion): drag or use the arrow buttons."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import pygame

from ui.i18n import N_
from ui.widgets.base import Container, Kit, Widget
from ui.widgets.button import Button

_UP = N_("Up")
_DOWN = N_("Down")


class ListPicker(Container):
    """Options as rows with ids ``<id>.option.<value>``; a tap picks one, a drag scrolls.

    Elderly citizens often do not know that a list can be dragged, so big "Up" / "Down" buttons
    (ids ``<id>.up`` / ``<id>.down``) page through it as well.

    Args:
        id: Stable id.
        rect: The whole area, arrows included.
        kit: Theme, text, translator.
        options: ``(value, label)`` pairs in display order.
        selected: Value currently chosen, or None.
        on_pick: Called with the value of the tapped row.
        offset: Scroll position to start at (kept by the screen across rebuilds); default: the
            selected option in view.
        on_scroll: Called with the new scroll position whenever it changes.
    """

    interactive = True

    def __init__(
        self,
        id: str,
        rect: pygame.Rect | Sequence[int],
        kit: Kit,
        options: Sequence[tuple[str, str]],
        selected: str | None,
        on_pick: Callable[[str], None],
        *,
        offset: int | None = None,
        on_scroll: Callable[[int], None] | None = None,
    ) -> None:
        super().__init__(id, rect, kit)
        m = kit.metrics
        self.on_pick = on_pick
        self.selected = selected
        self.row_h = m.touch
        self.gap = m.px(6)
        arrow_w = m.touch + m.px(16)
        self.list_rect = pygame.Rect(
            self.rect.x, self.rect.y, self.rect.width - arrow_w - m.gap, self.rect.height
        )
        arrows = pygame.Rect(self.list_rect.right + m.gap, self.rect.y, arrow_w, self.rect.height)
        half = (arrows.height - m.gap) // 2
        self.rows: list[Button] = [
            Button(
                f"{id}.option.{value}",
                (0, 0, self.list_rect.width, self.row_h),
                kit,
                label,
                style="choice",
                selected=value == selected,
                bold=False,
            )
            for value, label in options
        ]
        self._values = [value for value, _ in options]
        tr = kit.tr
        self.up = Button(
            f"{id}.up",
            (arrows.x, arrows.y, arrows.width, half),
            kit,
            tr(_UP),
            self.page_up,
            style="secondary",
        )
        self.down = Button(
            f"{id}.down",
            (arrows.x, arrows.bottom - half, arrows.width, half),
            kit,
            tr(_DOWN),
            self.page_down,
            style="secondary",
        )
        self.offset = 0
        self.on_scroll = None
        self._press: tuple[int, int] | None = None
        self._press_offset = 0
        self._dragging = False
        if offset is not None:
            self.offset = max(0, min(self.max_offset, offset))
        elif selected in self._values:
            self.scroll_to(selected)
        self._place()
        self.on_scroll = on_scroll

    # -- scrolling ------------------------------------------------------------------------------
    @property
    def max_offset(self) -> int:
        """How far the list can scroll."""
        content = len(self.rows) * (self.row_h + self.gap) - self.gap
        return max(0, content - self.list_rect.height)

    def scroll_by(self, pixels: int) -> None:
        """Scroll down by ``pixels`` (negative = up), within bounds."""
        self.offset = max(0, min(self.max_offset, self.offset + pixels))
        self._place()

    def page_up(self) -> None:
        """Scroll up by almost a page (one row stays in view, so the citizen keeps their place)."""
        self.scroll_by(-max(self.row_h, self.list_rect.height - self.row_h))

    def page_down(self) -> None:
        """Scroll down by almost a page."""
        self.scroll_by(max(self.row_h, self.list_rect.height - self.row_h))

    def scroll_to(self, value: str) -> None:
        """Bring the option ``value`` into view."""
        if value not in self._values:
            return
        top = self._values.index(value) * (self.row_h + self.gap)
        if top < self.offset:
            self.offset = top
        elif top + self.row_h > self.offset + self.list_rect.height:
            self.offset = top + self.row_h - self.list_rect.height
        self.offset = max(0, min(self.max_offset, self.offset))
        self._place()

    def _place(self) -> None:
        for i, row in enumerate(self.rows):
            row.rect.topleft = (
                self.list_rect.x,
                self.list_rect.y + i * (self.row_h + self.gap) - self.offset,
            )
            # Only rows fully in view count as visible (to the pilot and the text checks); rows cut
            # by the edge are still drawn, clipped, while the list moves.
            row.visible = self.list_rect.contains(row.rect)
        if self.on_scroll is not None:
            self.on_scroll(self.offset)
        self.up.enabled = self.offset > 0
        self.down.enabled = self.offset < self.max_offset

    def children(self) -> Sequence[Widget]:
        return [*self.rows, self.up, self.down]

    # -- pointer --------------------------------------------------------------------------------
    def hit(self, pos):
        if not self.visible:
            return None
        for arrow in (self.up, self.down):
            if arrow.rect.collidepoint(pos):
                return arrow if arrow.enabled else None
        return self if self.list_rect.collidepoint(pos) else None

    def pointer_down(self, pos, now) -> None:
        self._press = pos
        self._press_offset = self.offset
        self._dragging = False
        row = self._row_at(pos)
        if row is not None:
            row.pressed = True

    def pointer_move(self, pos, now) -> None:
        if self._press is None:
            return
        dy = pos[1] - self._press[1]
        if not self._dragging and abs(dy) > self.kit.metrics.px(12):
            self._dragging = True
            for row in self.rows:
                row.pressed = False
        if self._dragging:
            self.offset = max(0, min(self.max_offset, self._press_offset - dy))
            self._place()

    def pointer_up(self, pos, now) -> None:
        dragged = self._dragging
        self._press = None
        self._dragging = False
        for row in self.rows:
            row.pressed = False
        if dragged:
            return
        row = self._row_at(pos)
        if row is not None:
            value = self._values[self.rows.index(row)]
            self.selected = value
            for other in self.rows:
                other.selected = other is row
            self.on_pick(value)

    def pointer_cancel(self) -> None:
        self._press = None
        self._dragging = False
        for row in self.rows:
            row.pressed = False

    def _row_at(self, pos) -> Button | None:
        if not self.list_rect.collidepoint(pos):
            return None
        for row in self.rows:
            if row.rect.collidepoint(pos):
                return row
        return None

    # -- drawing --------------------------------------------------------------------------------
    def draw(self, surface: pygame.Surface, now: float) -> None:
        clip = surface.get_clip()
        surface.set_clip(self.list_rect.clip(clip) if clip else self.list_rect)
        for row in self.rows:
            if row.rect.colliderect(self.list_rect):
                row.draw(surface, now)
        surface.set_clip(clip)
        self.up.draw(surface, now)
        self.down.draw(surface, now)
        if self.max_offset:
            self._draw_scrollbar(surface)

    def _draw_scrollbar(self, surface: pygame.Surface) -> None:
        m = self.kit.metrics
        track = pygame.Rect(self.list_rect.right + m.px(2), self.list_rect.y, m.px(4), self.list_rect.height)
        content = self.max_offset + self.list_rect.height
        thumb_h = max(m.px(20), track.height * self.list_rect.height // content)
        thumb_y = track.y + (track.height - thumb_h) * self.offset // max(1, self.max_offset)
        pygame.draw.rect(
            surface,
            self.kit.palette.border,
            (track.x, thumb_y, track.width, thumb_h),
            border_radius=track.width // 2,
        )
