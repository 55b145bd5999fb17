"""Where the citizen is in the journey, and a calm "working" indicator."""

from __future__ import annotations

import math
from collections.abc import Sequence

import pygame

from ui.widgets.base import Kit, Widget


class ProgressSteps(Widget):
    """A row of dots, one per step, the current one larger, plus "Step 3 of 8".

    Args:
        current: 0-based index of the current step.
        total: Number of steps.
        caption: Already translated text shown next to the dots.
    """

    def __init__(
        self,
        id: str,
        rect: pygame.Rect | Sequence[int],
        kit: Kit,
        current: int,
        total: int,
        caption: str = "",
    ) -> None:
        super().__init__(id, rect, kit)
        self.current = current
        self.total = max(1, total)
        self.caption = caption

    def texts(self) -> list[str]:
        return [self.caption] if self.caption else []

    def draw(self, surface: pygame.Surface, now: float) -> None:
        p, m = self.kit.palette, self.kit.metrics
        color = p.header_text
        x = self.rect.right
        if self.caption:
            image = self.kit.text.render(self.caption, m.text_small, color)
            x -= image.get_width()
            surface.blit(image, (x, self.rect.centery - image.get_height() // 2))
            x -= m.px(12)
        r = m.px(5)
        step = m.px(16)
        start = x - (self.total - 1) * step - r
        for i in range(self.total):
            cx = start + i * step
            if i == self.current:
                pygame.draw.circle(surface, color, (cx, self.rect.centery), r + m.px(2))
            elif i < self.current:
                pygame.draw.circle(surface, color, (cx, self.rect.centery), r - m.px(1))
            else:
                pygame.draw.circle(
                    surface, color, (cx, self.rect.centery), r - m.px(1), width=max(1, m.px(2))
                )


class Spinner(Widget):
    """Three dots that pulse slowly while something is being saved or printed.

    It asks for about 12 frames a second and only while it is on screen, so a waiting kiosk does
    not burn the CPU.
    """

    fps = 12.0

    def next_frame(self, now: float) -> float | None:
        return now + 1.0 / self.fps

    def draw(self, surface: pygame.Surface, now: float) -> None:
        p, m = self.kit.palette, self.kit.metrics
        r = max(3, min(self.rect.height // 4, m.px(9)))
        spacing = r * 3
        for i in range(3):
            phase = (now * 1.6 - i * 0.22) % 1.0
            grow = 0.55 + 0.45 * (0.5 + 0.5 * math.cos(phase * 2 * math.pi))
            cx = self.rect.centerx + (i - 1) * spacing
            pygame.draw.circle(surface, p.primary, (cx, self.rect.centery), max(2, round(r * grow)))
