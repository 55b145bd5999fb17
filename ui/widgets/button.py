"""A button: the one thing a citizen taps to move on."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Literal

import pygame

from ui.widgets.base import Kit, Widget

Style = Literal["primary", "secondary", "quiet", "choice", "key"]


class Button(Widget):
    """A rounded button with a label and, optionally, a smaller second line.

    It fires ``on_tap`` when the pointer goes down and comes up inside it, so a finger that
    slides off a button to change its mind does not trigger it.

    Args:
        id: Stable id.
        rect: Position and size; keep the height at least ``metrics.touch``.
        kit: Theme, text, translator.
        label: Already translated text.
        on_tap: Called on the main thread after a tap.
        style: ``primary`` (the next step), ``secondary`` (back, retake), ``quiet`` (text only),
            ``choice`` (a large option in a list, left aligned) or ``key`` (keyboard key).
        detail: A second, smaller line (choices only).
        selected: Drawn as the chosen option.
        align: Label alignment; choices default to the left.
        text_size: The label's size, shared with the other buttons of its row (:func:`share_text_size`);
            None: the largest that fits, on one line or wrapped onto two.
    """

    interactive = True

    def __init__(
        self,
        id: str,
        rect: pygame.Rect | Sequence[int],
        kit: Kit,
        label: str,
        on_tap: Callable[[], None] | None = None,
        *,
        style: Style = "primary",
        detail: str = "",
        selected: bool = False,
        enabled: bool = True,
        align: Literal["center", "left"] | None = None,
        bold: bool | None = None,
        text_size: int | None = None,
    ) -> None:
        super().__init__(id, rect, kit)
        self.label = label
        self.on_tap = on_tap
        self.style = style
        self.detail = detail
        self.selected = selected
        self.enabled = enabled
        self.align = align or ("left" if style == "choice" else "center")
        self.bold = bold if bold is not None else style in ("primary", "choice")
        self.pressed = False
        self.text_size = text_size

    def texts(self) -> list[str]:
        return [t for t in (self.label, self.detail) if t]

    # -- pointer --------------------------------------------------------------------------------
    def pointer_down(self, pos, now) -> None:
        self.pressed = True

    def pointer_move(self, pos, now) -> None:
        self.pressed = self.rect.collidepoint(pos)

    def pointer_up(self, pos, now) -> None:
        inside = self.rect.collidepoint(pos)
        self.pressed = False
        if inside and self.enabled and self.on_tap is not None:
            self.on_tap()

    def pointer_cancel(self) -> None:
        self.pressed = False

    # -- drawing --------------------------------------------------------------------------------
    def _colors(self) -> tuple[tuple, tuple, tuple | None]:
        """Fill, text and outline colours for the current state."""
        p = self.kit.palette
        if not self.enabled:
            return p.disabled, p.disabled_text, None
        if self.style == "primary":
            return (p.primary_pressed if self.pressed else p.primary), p.primary_text, None
        if self.style == "quiet":
            return (p.surface_alt if self.pressed else p.background), p.primary, None
        if self.style == "choice":
            if self.selected:
                return (p.primary_pressed if self.pressed else p.primary), p.primary_text, None
            return (p.surface_alt if self.pressed else p.surface), p.text, p.border
        if self.style == "key":
            return (p.surface_alt if self.pressed else p.surface), p.text, p.border
        return (p.surface_alt if self.pressed else p.secondary), p.secondary_text, p.border

    def draw(self, surface: pygame.Surface, now: float) -> None:
        m = self.kit.metrics
        fill, ink, outline = self._colors()
        radius = m.radius if self.style != "key" else max(4, m.radius // 2)
        pygame.draw.rect(surface, fill, self.rect, border_radius=radius)
        if outline is not None:
            pygame.draw.rect(
                surface, outline, self.rect, width=max(1, m.border // 2 + 1), border_radius=radius
            )
        if self.kit.theme.high_contrast and self.style != "quiet":
            # In high contrast every control gets a strong outline so its edge is never guessed.
            pygame.draw.rect(
                surface, self.kit.palette.border, self.rect, width=m.border, border_radius=radius
            )
        self._draw_label(surface, ink)

    def _inner(self) -> pygame.Rect:
        pad = self.kit.metrics.px(16) if self.align == "left" else self.kit.metrics.px(8)
        return self.rect.inflate(-2 * pad, 0)

    def label_layout(self) -> tuple[int, tuple[str, ...]]:
        """The label's size and lines as drawn: one line at the largest size that fits, else two lines at
        the small size (or less, down to the floor); with :attr:`text_size`, that size, wrapped if need be.

        Words are never split at a no-break space: "Lanjut\u00a0\u00a0\u203a" keeps its chevron.
        """
        m, text = self.kit.metrics, self.kit.text
        width = self._inner().width
        if self.text_size is not None:
            return self.text_size, text.wrap(self.label, self.text_size, width, bold=self.bold)[:2]
        size = m.text_button if self.style != "key" else m.px(24)
        size = text.fit_size(self.label, size, width, bold=self.bold)
        if size >= m.text_small or self.style == "key":
            return size, (self.label,)
        # Too long for one line at a readable size (a translated label): two lines instead.
        size = m.text_small
        lines = text.wrap(self.label, size, width, bold=self.bold)
        while len(lines) > 2 and size > m.text_floor:
            size -= 1
            lines = text.wrap(self.label, size, width, bold=self.bold)
        return size, lines[:2]

    def _draw_label(self, surface: pygame.Surface, ink: tuple) -> None:
        m = self.kit.metrics
        text = self.kit.text
        inner = self._inner()
        if self.detail:
            size = text.fit_size(self.label, m.text_button, inner.width, bold=self.bold)
            label = text.render(self.label, size, ink, bold=self.bold)
            detail_size = m.text_small
            room = max(1, (self.rect.height - label.get_height() - m.px(12)) // text.line_height(detail_size))
            lines = text.wrap(self.detail, detail_size, inner.width)[:room]
            line_h = text.line_height(detail_size)
            total = label.get_height() + len(lines) * line_h
            y = self.rect.centery - total // 2
            self._blit(surface, label, inner, y)
            y += label.get_height()
            muted = ink if self.selected or not self.enabled else self.kit.palette.text_muted
            for line in lines:
                self._blit(surface, text.render(line, detail_size, muted), inner, y)
                y += line_h
            return
        size, lines = self.label_layout()
        line_h = text.line_height(size, self.bold)
        if len(lines) == 1:
            image = text.render(lines[0], size, ink, bold=self.bold)
            self._blit(surface, image, inner, self.rect.centery - image.get_height() // 2)
            return
        y = self.rect.centery - len(lines) * line_h // 2
        for line in lines:
            self._blit(surface, text.render(line, size, ink, bold=self.bold), inner, y)
            y += line_h

    def _blit(self, surface: pygame.Surface, image: pygame.Surface, inner: pygame.Rect, y: int) -> None:
        x = inner.x if self.align == "left" else inner.centerx - image.get_width() // 2
        surface.blit(image, (x, y))


def share_text_size(buttons: Sequence[Button]) -> None:
    """Give the buttons of one row one label size: the smallest any of them needs on its own.

    A row whose labels come out in three sizes ("Ubah nomor" shrunk, "Tanda tangan ulang" wrapped small,
    "Ubah data" full size) reads as a mistake; one size, with a long label on two lines, reads as designed.
    Buttons with a second line (choices) keep their own layout.
    """
    plain = [button for button in buttons if not button.detail]
    for button in plain:
        button.text_size = None
    if len(plain) < 2:
        return
    size = min(button.label_layout()[0] for button in plain)
    for button in plain:
        button.text_size = size
