"""The thin bar at the bottom: network, power / battery and records waiting to be sent."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import pygame

from ui.widgets.base import Kit, Widget

Tone = Literal["ok", "warning", "error", "muted"]


@dataclass(frozen=True)
class StatusItem:
    """One item of the status bar: a coloured dot and a short, already translated text."""

    key: str
    text: str
    tone: Tone = "ok"


class StatusBar(Widget):
    """Items on the left, the kiosk id (or clock) on the right, in small type."""

    def __init__(
        self,
        id: str,
        rect: pygame.Rect | Sequence[int],
        kit: Kit,
        items: Sequence[StatusItem],
        right: str = "",
    ) -> None:
        super().__init__(id, rect, kit)
        self.items = tuple(items)
        self.right = right

    def texts(self) -> list[str]:
        return [item.text for item in self.items] + ([self.right] if self.right else [])

    def draw(self, surface: pygame.Surface, now: float) -> None:
        p, m = self.kit.palette, self.kit.metrics
        pygame.draw.rect(surface, p.surface, self.rect)
        pygame.draw.line(surface, p.border, self.rect.topleft, self.rect.topright, max(1, m.px(1)))
        size = m.text_small
        x = self.rect.x + m.margin
        r = max(3, m.px(5))
        for item in self.items:
            color = {"ok": p.success, "warning": p.warning, "error": p.error, "muted": p.text_muted}[
                item.tone
            ]
            pygame.draw.circle(surface, color, (x + r, self.rect.centery), r)
            x += 2 * r + m.px(6)
            image = self.kit.text.render(item.text, size, p.text if item.tone != "muted" else p.text_muted)
            surface.blit(image, (x, self.rect.centery - image.get_height() // 2))
            x += image.get_width() + m.px(22)
        if self.right:
            image = self.kit.text.render(self.right, size, p.text_muted)
            right_x = self.rect.right - m.margin - image.get_width()
            if right_x > x:
                surface.blit(image, (right_x, self.rect.centery - image.get_height() // 2))
