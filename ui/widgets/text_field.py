"""A text field: a label, the value in a box, and the problem with it right underneath."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Literal

import pygame

from ui.widgets.base import Kit, Widget


class TextField(Widget):
    """Shows one field of the form; tapping it asks the screen to edit it.

    The value is typed with the on-screen :class:`~ui.widgets.keyboard.Keyboard`; the field only
    shows it. The message under the box is an error (red, with a mark) or a warning to confirm.

    Args:
        id: Stable id (the field's name: ``"nik"``).
        rect: Whole area: label, box and message line.
        kit: Theme, text, translator.
        label: Translated field name.
        value: Text to show (already formatted, e.g. ``"17-08-1990"``).
        placeholder: Shown in muted colour while the value is empty.
        message: Error or warning text, already translated ('' = none).
        message_tone: ``error`` or ``warning``.
        focused: Drawn with the focus outline and a caret.
        on_tap: Called when the citizen taps the field.
        mask: For dates: the pattern shown behind what was typed (``"DD-MM-YYYY"``).
        hint: A help line shown under the box while there is no message.
    """

    interactive = True

    def __init__(
        self,
        id: str,
        rect: pygame.Rect | Sequence[int],
        kit: Kit,
        label: str,
        value: str = "",
        *,
        placeholder: str = "",
        message: str = "",
        message_tone: Literal["error", "warning"] = "error",
        focused: bool = False,
        on_tap: Callable[[], None] | None = None,
        mask: str = "",
        hint: str = "",
    ) -> None:
        super().__init__(id, rect, kit)
        self.label = label
        self.value = value
        self.placeholder = placeholder
        self.message = message
        self.message_tone = message_tone
        self.focused = focused
        self.on_tap = on_tap
        self.mask = mask
        self.hint = hint
        self.interactive = on_tap is not None
        self._pressed = False

    def texts(self) -> list[str]:
        return [t for t in (self.label, self.value, self.message or self.hint) if t]

    @classmethod
    def height_for(cls, kit: Kit, message_lines: int = 2) -> int:
        """Height one field needs: label, box and ``message_lines`` lines for its message or hint.

        Two by default (a translated message is often longer); the editor asks for just what it shows,
        so that the keyboard under it gets the room.
        """
        m = kit.metrics
        return (
            kit.text.line_height(m.text_small)
            + m.touch
            + message_lines * kit.text.line_height(m.text_small, True)
            + m.px(2)
        )

    def box(self) -> pygame.Rect:
        """The value box (the part that looks tappable)."""
        m = self.kit.metrics
        top = self.rect.y + self.kit.text.line_height(m.text_small)
        return pygame.Rect(self.rect.x, top, self.rect.width, m.touch)

    def pointer_down(self, pos, now) -> None:
        self._pressed = True

    def pointer_move(self, pos, now) -> None:
        self._pressed = self.rect.collidepoint(pos)

    def pointer_up(self, pos, now) -> None:
        if self._pressed and self.rect.collidepoint(pos) and self.on_tap is not None:
            self.on_tap()
        self._pressed = False

    def pointer_cancel(self) -> None:
        self._pressed = False

    def draw(self, surface: pygame.Surface, now: float) -> None:
        kit = self.kit
        p, m, text = kit.palette, kit.metrics, kit.text
        surface.blit(text.render(self.label, m.text_small, p.text_muted, bold=True), self.rect.topleft)
        box = self.box()
        has_error = bool(self.message) and self.message_tone == "error"
        edge = p.focus if self.focused else (p.error if has_error else p.border)
        fill = p.surface_alt if self._pressed else p.surface
        pygame.draw.rect(surface, fill, box, border_radius=m.radius // 2)
        width = m.border + (m.px(1) if self.focused or has_error else 0)
        pygame.draw.rect(surface, edge, box, width=width, border_radius=m.radius // 2)
        inner = box.inflate(-2 * m.px(12), 0)
        size = m.text_body
        if self.value:
            image = text.render(self._shown_value(size, inner.width - m.px(6)), size, p.text)
        else:
            image = text.render(self.placeholder, size, p.text_muted) if self.placeholder else None
        x = inner.x
        if self.mask and self.focused:
            image = None
            self._draw_mask(surface, inner)
        elif image is not None:
            surface.blit(image, (x, box.centery - image.get_height() // 2))
            x += image.get_width() if self.value else 0
        if self.focused and not self.mask:
            caret = pygame.Rect(x + m.px(2), box.y + m.px(12), max(2, m.px(2)), box.height - 2 * m.px(12))
            pygame.draw.rect(surface, p.focus, caret)
        if self.message:
            tone = p.error if has_error else p.warning
            y = box.bottom + m.px(2)
            # A dot in the message's colour, so the message is tied to the field even in grey-scale.
            r = max(3, m.px(4))
            line_h = text.line_height(m.text_small, True)
            pygame.draw.circle(surface, tone, (self.rect.x + r, y + line_h // 2), r)
            indent = 2 * r + m.px(6)
            self._lines(surface, self.message, tone, self.rect.x + indent, y, bold=True)
        elif self.hint:
            self._lines(surface, self.hint, p.text_muted, self.rect.x, box.bottom + m.px(2), bold=False)

    def _shown_value(self, size: int, width: int) -> str:
        """The part of a long value that fits: its end while typing (where the caret is), else its start
        with an ellipsis (a citizen checking a field reads it from the beginning)."""
        text, value = self.kit.text, self.value
        if text.width(value, size) <= width:
            return value
        if self.focused:
            cut = _longest(len(value), lambda n: text.width(value[len(value) - n :], size) <= width)
            return value[len(value) - cut :]
        cut = _longest(len(value), lambda n: text.width(value[:n].rstrip() + "\u2026", size) <= width)
        return value[:cut].rstrip() + "\u2026"

    def _lines(self, surface: pygame.Surface, message: str, color, x: int, y: int, *, bold: bool) -> None:
        """Draw ``message`` wrapped into the room left under the box (usually two lines)."""
        m, text = self.kit.metrics, self.kit.text
        line_h = text.line_height(m.text_small, bold)
        room = max(1, (self.rect.bottom - y) // line_h)
        lines = text.wrap(message, m.text_small, self.rect.right - x, bold=bold)
        if len(lines) > room:
            lines = (*lines[: room - 1], lines[room - 1].rstrip(".,") + "…")
        for line in lines:
            surface.blit(text.render(line, m.text_small, color, bold=bold), (x, y))
            y += line_h

    def _draw_mask(self, surface: pygame.Surface, inner: pygame.Rect) -> None:
        """Typed digits over the date pattern: ``17-08-YYYY`` while the year is still missing."""
        p, m, text = self.kit.palette, self.kit.metrics, self.kit.text
        size = m.text_body
        typed = self.value[: len(self.mask)]
        rest = self.mask[len(typed) :]
        x = inner.x
        if typed:
            image = text.render(typed, size, p.text)
            surface.blit(image, (x, inner.centery - image.get_height() // 2))
            x += image.get_width()
        caret = pygame.Rect(x + m.px(1), inner.y + m.px(12), max(2, m.px(2)), inner.height - 2 * m.px(12))
        if rest:
            image = text.render(rest, size, p.text_muted)
            surface.blit(image, (x + m.px(4), inner.centery - image.get_height() // 2))
        pygame.draw.rect(surface, p.focus, caret)


def _longest(limit: int, fits: Callable[[int], bool]) -> int:
    """The largest ``n`` in 1..``limit`` with ``fits(n)`` (``fits`` shrinks as ``n`` grows), at least 1.

    A binary search: measuring a 120-character address one character at a time cost every frame.
    """
    low, high = 1, limit
    while low < high:
        middle = (low + high + 1) // 2
        if fits(middle):
            low = middle
        else:
            high = middle - 1
    return low
