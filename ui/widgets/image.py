"""Pictures: a still image fitted into a rectangle, and a tick box."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import pygame

from ui.widgets.base import Kit, Widget


class Picture(Widget):
    """A surface scaled once to fit its rectangle (aspect kept), centred, on a card.

    Args:
        image: The picture (None: only the caption is shown).
        caption: Text shown when there is no picture.
        crop_ink: Cut the picture to its dark pixels first (signatures).
    """

    def __init__(
        self,
        id: str,
        rect: pygame.Rect | Sequence[int],
        kit: Kit,
        image: pygame.Surface | None,
        *,
        caption: str = "",
        crop_ink: bool = False,
    ) -> None:
        super().__init__(id, rect, kit)
        self.caption = caption
        self.image = None
        if image is not None and crop_ink:
            # A signature uses a small part of the pad: show the ink, not the empty paper around it.
            mask = pygame.mask.from_threshold(image, (0, 0, 0), (140, 140, 140, 255))
            bounds = mask.get_bounding_rects()
            if bounds:
                box = bounds[0].unionall(bounds[1:]).inflate(16, 16).clip(image.get_rect())
                image = image.subsurface(box)
        if image is not None:
            w, h = image.get_size()
            scale = min(self.rect.width / w, self.rect.height / h)
            self.image = pygame.transform.smoothscale(image, (max(1, int(w * scale)), max(1, int(h * scale))))

    def texts(self) -> list[str]:
        return [self.caption] if self.caption and self.image is None else []

    def draw(self, surface: pygame.Surface, now: float) -> None:
        p, m = self.kit.palette, self.kit.metrics
        pygame.draw.rect(surface, p.surface, self.rect, border_radius=m.radius // 2)
        if self.image is not None:
            surface.blit(self.image, self.image.get_rect(center=self.rect.center))
        elif self.caption:
            lines = self.kit.text.wrap(self.caption, m.text_small, self.rect.width - m.px(12))
            line_h = self.kit.text.line_height(m.text_small)
            y = self.rect.centery - len(lines) * line_h // 2
            for line in lines:
                image = self.kit.text.render(line, m.text_small, p.text_muted)
                surface.blit(image, (self.rect.centerx - image.get_width() // 2, y))
                y += line_h
        pygame.draw.rect(surface, p.border, self.rect, width=max(1, m.px(1)), border_radius=m.radius // 2)


class Checkbox(Widget):
    """A tick box with its sentence; the whole card is the touch target.

    Args:
        checked: Whether the box is ticked.
        on_toggle: Called with the new state after a tap.
    """

    interactive = True

    def __init__(
        self,
        id: str,
        rect: pygame.Rect | Sequence[int],
        kit: Kit,
        label: str,
        checked: bool,
        on_toggle: Callable[[bool], None],
    ) -> None:
        super().__init__(id, rect, kit)
        self.label = label
        self.checked = checked
        self.on_toggle = on_toggle
        self._pressed = False

    def texts(self) -> list[str]:
        return [self.label]

    def pointer_down(self, pos, now) -> None:
        self._pressed = True

    def pointer_move(self, pos, now) -> None:
        self._pressed = self.rect.collidepoint(pos)

    def pointer_up(self, pos, now) -> None:
        if self._pressed and self.rect.collidepoint(pos):
            self.on_toggle(not self.checked)
        self._pressed = False

    def pointer_cancel(self) -> None:
        self._pressed = False

    def draw(self, surface: pygame.Surface, now: float) -> None:
        p, m = self.kit.palette, self.kit.metrics
        fill = p.surface_alt if self._pressed else (p.success_surface if self.checked else p.surface)
        edge = p.success if self.checked else p.primary
        pygame.draw.rect(surface, fill, self.rect, border_radius=m.radius)
        pygame.draw.rect(surface, edge, self.rect, width=m.border, border_radius=m.radius)
        size = m.px(34)
        box = pygame.Rect(self.rect.x + m.px(14), self.rect.centery - size // 2, size, size)
        pygame.draw.rect(surface, p.surface, box, border_radius=m.px(5))
        pygame.draw.rect(surface, edge, box, width=m.border + 1, border_radius=m.px(5))
        if self.checked:
            inner = box.inflate(-m.px(4), -m.px(4))
            pygame.draw.rect(surface, p.success, inner, border_radius=m.px(4))
            tick = [
                (box.x + size * 0.22, box.y + size * 0.52),
                (box.x + size * 0.42, box.y + size * 0.72),
                (box.x + size * 0.78, box.y + size * 0.30),
            ]
            pygame.draw.lines(surface, p.surface, False, tick, max(3, m.px(4)))
        text_x = box.right + m.px(14)
        width = self.rect.right - m.px(12) - text_x
        # The consent must be read whole: a smaller size rather than a cut sentence.
        size = m.text_small
        while True:
            lines = self.kit.text.wrap(self.label, size, width, bold=True)
            line_h = self.kit.text.line_height(size, True)
            if len(lines) * line_h <= self.rect.height - m.px(8) or size <= m.text_floor:
                break
            size -= 1
        y = self.rect.centery - len(lines) * line_h // 2
        for line in lines:
            surface.blit(self.kit.text.render(line, size, p.text, bold=True), (text_x, y))
            y += line_h
