"""A modal card over a dimmed screen ("need more time?", "is this correct?")."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import pygame

from ui.widgets.base import Container, Kit, Widget
from ui.widgets.button import Button, share_text_size
from ui.widgets.label import Label


class Dialog(Container):
    """Covers the whole screen: touches outside the card do nothing (they must not press what is behind).

    Args:
        id: Stable id; buttons get ``<id>.<key>``.
        rect: The whole screen.
        kit: Theme, text, translator.
        title: Translated title.
        body: Translated text under it.
        buttons: ``(key, label, on_tap, style)``; the last one is the main action, on the right.
        on_outside: Called for a tap outside the card (None: such taps do nothing).
    """

    interactive = True

    def __init__(
        self,
        id: str,
        rect: pygame.Rect | Sequence[int],
        kit: Kit,
        title: str,
        body: str,
        buttons: Sequence[tuple[str, str, Callable[[], None], str]],
        *,
        tone: str = "normal",
        on_outside: Callable[[], None] | None = None,
    ) -> None:
        super().__init__(id, rect, kit)
        m = kit.metrics
        width = min(self.rect.width - 2 * m.margin, m.px(560))
        inner_w = width - 2 * m.px(24)
        title_label = Label(f"{id}.title", (0, 0, inner_w, 1), kit, title, role="title", bold=True)
        body_label = Label(f"{id}.body", (0, 0, inner_w, 1), kit, body, role="body")
        title_h = title_label.content_height()
        body_h = body_label.content_height() if body else 0
        height = m.px(24) * 2 + title_h + m.px(10) + body_h + m.px(22) + m.touch
        self.card = pygame.Rect(0, 0, width, height)
        self.card.center = self.rect.center
        x = self.card.x + m.px(24)
        y = self.card.y + m.px(24)
        title_label.rect = pygame.Rect(x, y, inner_w, title_h)
        y += title_h + m.px(10)
        body_label.rect = pygame.Rect(x, y, inner_w, body_h)
        self.tone = tone
        self.on_outside = on_outside
        self._shade = pygame.Surface(self.rect.size, pygame.SRCALPHA)
        self._shade.fill(kit.palette.overlay)
        self.add(title_label)
        if body:
            self.add(body_label)
        count = max(1, len(buttons))
        gap = m.gap
        button_w = (inner_w - gap * (count - 1)) // count
        by = self.card.bottom - m.px(24) - m.touch
        row = [
            Button(
                f"{id}.{key}",
                (x + i * (button_w + gap), by, button_w, m.touch),
                kit,
                label,
                on_tap,
                style=style,
            )
            for i, (key, label, on_tap, style) in enumerate(buttons)
        ]
        share_text_size(row)
        for button in row:
            self.add(button)

    def hit(self, pos) -> Widget | None:
        found = super().hit(pos)
        return found if found is not None else self  # swallow touches outside the buttons

    def pointer_up(self, pos, now) -> None:
        if self.on_outside is not None and not self.card.collidepoint(pos):
            self.on_outside()

    def draw(self, surface: pygame.Surface, now: float) -> None:
        p, m = self.kit.palette, self.kit.metrics
        surface.blit(self._shade, self.rect.topleft)
        pygame.draw.rect(surface, p.surface, self.card, border_radius=m.radius)
        edge = p.warning if self.tone == "warning" else p.border
        pygame.draw.rect(surface, edge, self.card, width=m.border, border_radius=m.radius)
        super().draw(surface, now)
