"""Text on the screen, and cards that group it."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

import pygame

from ui.widgets.base import Container, Kit, Widget

Role = Literal["title", "body", "small", "display", "button"]
Tone = Literal["normal", "muted", "error", "warning", "success", "primary", "inverse"]


class Label(Widget):
    """Wrapped text inside a rectangle.

    Args:
        id: Stable id.
        rect: The area; text is wrapped to its width and cut at its height.
        kit: Theme, text, translator.
        text: Already translated text; ``\\n`` starts a new paragraph.
        role: Type size (``title``, ``body``, ``small``, ``display``, ``button``).
        tone: Colour role.
        align: Horizontal alignment.
        valign: Vertical alignment inside ``rect``.
        bold: Heavier weight.
        shrink: Keep the text on one line, at a smaller size if it does not fit the width (a
            reference code, a value in a table).
    """

    def __init__(
        self,
        id: str,
        rect: pygame.Rect | Sequence[int],
        kit: Kit,
        text: str,
        *,
        role: Role = "body",
        tone: Tone = "normal",
        align: Literal["left", "center", "right"] = "left",
        valign: Literal["top", "middle", "bottom"] = "top",
        bold: bool = False,
        shrink: bool = False,
    ) -> None:
        super().__init__(id, rect, kit)
        self.text = text
        self.shrink = shrink
        self.role = role
        self.tone = tone
        self.align = align
        self.valign = valign
        self.bold = bold

    def texts(self) -> list[str]:
        return [self.text] if self.text else []

    def _size(self) -> int:
        size = self._role_size()
        if self.shrink and self.text:
            # Never below the floor: a text that does not fit even there is a layout to fix, not to hide.
            floor = min(size, self.kit.metrics.text_floor)
            return self.kit.text.fit_size(self.text, size, self.rect.width, bold=self.bold, minimum=floor)
        return size

    def _role_size(self) -> int:
        m = self.kit.metrics
        return {
            "title": m.text_title,
            "body": m.text_body,
            "small": m.text_small,
            "display": m.text_display,
            "button": m.text_button,
        }[self.role]

    def _color(self) -> tuple:
        p = self.kit.palette
        return {
            "normal": p.text,
            "muted": p.text_muted,
            "error": p.error,
            "warning": p.warning,
            "success": p.success,
            "primary": p.primary,
            "inverse": p.header_text,
        }[self.tone]

    def lines(self) -> tuple[str, ...]:
        """The wrapped lines as drawn (cached by the text renderer)."""
        return self.kit.text.wrap(self.text, self._size(), self.rect.width, bold=self.bold)

    def content_height(self) -> int:
        """Height the wrapped text needs."""
        return len(self.lines()) * self.kit.text.line_height(self._size(), self.bold)

    def draw(self, surface: pygame.Surface, now: float) -> None:
        if not self.text:
            return
        size = self._size()
        text = self.kit.text
        line_h = text.line_height(size, self.bold)
        lines = self.lines()
        fit = max(1, self.rect.height // line_h) if line_h else 1
        if len(lines) > fit:
            # Cut where the reader can see it was cut (a server's long message on a technician's page).
            last = lines[fit - 1].rstrip()
            while last and text.width(last + " \u2026", size, self.bold) > self.rect.width:
                last = last[:-1].rstrip()
            lines = (*lines[: fit - 1], last + " \u2026")
        total = len(lines) * line_h
        y = self.rect.y
        if self.valign == "middle":
            y = self.rect.centery - total // 2
        elif self.valign == "bottom":
            y = self.rect.bottom - total
        color = self._color()
        for line in lines:
            image = text.render(line, size, color, bold=self.bold)
            if self.align == "center":
                x = self.rect.centerx - image.get_width() // 2
            elif self.align == "right":
                x = self.rect.right - image.get_width()
            else:
                x = self.rect.x
            surface.blit(image, (x, y))
            y += line_h


class Panel(Container):
    """A card: a rounded surface with an outline that groups the widgets placed on it.

    Args:
        tone: ``normal`` (white card), ``error``, ``warning`` or ``success`` (tinted notices).
    """

    def __init__(
        self,
        id: str,
        rect: pygame.Rect | Sequence[int],
        kit: Kit,
        widgets: Sequence[Widget] = (),
        *,
        tone: Literal["normal", "error", "warning", "success", "flat"] = "normal",
    ) -> None:
        super().__init__(id, rect, kit, widgets)
        self.tone = tone

    def draw(self, surface: pygame.Surface, now: float) -> None:
        p = self.kit.palette
        m = self.kit.metrics
        fill, edge = {
            "normal": (p.surface, p.border),
            "flat": (p.background, p.background),
            "error": (p.error_surface, p.error),
            "warning": (p.warning_surface, p.warning),
            "success": (p.success_surface, p.success),
        }[self.tone]
        pygame.draw.rect(surface, fill, self.rect, border_radius=m.radius)
        if self.tone != "flat":
            pygame.draw.rect(
                surface, edge, self.rect, width=max(1, m.border // 2 + 1), border_radius=m.radius
            )
        super().draw(surface, now)
