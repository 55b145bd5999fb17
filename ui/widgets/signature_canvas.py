"""The signing area: shows the strokes live, from the pad or from a finger on the glass."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import pygame

from ui.signature import Ink
from ui.widgets.base import Kit, Widget


class SignatureCanvas(Widget):
    """Draws an :class:`~ui.signature.Ink`; with ``touch=True`` a finger writes into it.

    The strokes are drawn incrementally onto a surface the screen keeps (``cache``), so each new
    sample costs one line, not a redraw of the signature.

    Args:
        ink: The signature model (kept by the screen).
        touch: Whether finger movements draw (the touch fallback when no pad works).
        prompt: Shown, muted, while nothing is written yet ("Sign here").
        cache: Dict the screen keeps across rebuilds for the drawn surface.
        on_stroke: Called when a finger stroke ends (the screen enables "use this signature").
    """

    def __init__(
        self,
        id: str,
        rect: pygame.Rect | Sequence[int],
        kit: Kit,
        ink: Ink,
        *,
        touch: bool,
        prompt: str = "",
        cache: dict | None = None,
        on_stroke: Callable[[], None] | None = None,
    ) -> None:
        super().__init__(id, rect, kit)
        self.ink = ink
        self.touch = touch
        self.interactive = touch
        self.prompt = prompt
        self._cache = cache if cache is not None else {}
        self.on_stroke = on_stroke

    def texts(self) -> list[str]:
        return [self.prompt] if self.prompt and not self.ink.has_ink else []

    # -- finger drawing -------------------------------------------------------------------------
    def _to_ink(self, pos) -> tuple[float, float]:
        return (
            (pos[0] - self.rect.x) * self.ink.width / self.rect.width,
            (pos[1] - self.rect.y) * self.ink.height / self.rect.height,
        )

    def pointer_down(self, pos, now) -> None:
        self.ink.add(*self._to_ink(pos), True, t=now)

    def pointer_move(self, pos, now) -> None:
        self.ink.add(*self._to_ink(pos), True, t=now)

    def pointer_up(self, pos, now) -> None:
        self.ink.add(*self._to_ink(pos), False, t=now)
        if self.on_stroke is not None:
            self.on_stroke()

    def pointer_cancel(self) -> None:
        if self.ink.samples and self.ink.samples[-1].pen_down:
            last = self.ink.samples[-1]
            self.ink.add(last.x, last.y, False)

    # -- drawing --------------------------------------------------------------------------------
    def _surface(self) -> pygame.Surface:
        p, m = self.kit.palette, self.kit.metrics
        state = self._cache.get("state")
        key = (self.rect.size, id(self.ink), p.ink)
        if state is None or state[0] != key or state[2] > len(self.ink.samples):
            surface = pygame.Surface(self.rect.size, pygame.SRCALPHA)
            state = [key, surface, 0]
            self._cache["state"] = state
        _, surface, drawn = state
        if drawn < len(self.ink.samples):
            state[2] = self.ink.draw(surface, p.ink, since=drawn, width=max(2, m.px(3)))
        return surface

    def draw(self, surface: pygame.Surface, now: float) -> None:
        p, m = self.kit.palette, self.kit.metrics
        pygame.draw.rect(surface, p.surface, self.rect, border_radius=m.radius)
        pygame.draw.rect(surface, p.border, self.rect, width=m.border, border_radius=m.radius)
        # The signing line with a small cross, as on paper forms.
        base_y = self.rect.bottom - self.rect.height // 4
        pad = m.px(30)
        pygame.draw.line(
            surface,
            p.text_muted,
            (self.rect.x + pad, base_y),
            (self.rect.right - pad, base_y),
            max(1, m.px(2)),
        )
        cross = m.px(8)
        cx, cy = self.rect.x + pad + cross, base_y - cross - m.px(6)
        pygame.draw.line(
            surface, p.text_muted, (cx - cross, cy - cross), (cx + cross, cy + cross), max(1, m.px(2))
        )
        pygame.draw.line(
            surface, p.text_muted, (cx - cross, cy + cross), (cx + cross, cy - cross), max(1, m.px(2))
        )
        if not self.ink.has_ink and self.prompt:
            image = self.kit.text.render(self.prompt, m.text_title, p.text_muted)
            surface.blit(
                image, image.get_rect(center=(self.rect.centerx, self.rect.y + self.rect.height * 2 // 5))
            )
        surface.blit(self._surface(), self.rect.topleft)
