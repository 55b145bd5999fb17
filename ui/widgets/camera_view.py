"""The live camera picture with the face guide over it."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, Literal

import pygame

from ui.widgets.base import Kit, Widget

GuideTone = Literal["neutral", "good", "adjust"]


class CameraView(Widget):
    """Blits the newest preview frame, mirrored like a mirror, with an oval where the face goes.

    ``frame_source`` must return at once (``Camera.latest_frame``): the view never waits for the
    camera. A frame is converted and scaled only when its sequence number changes, and the view
    asks for a redraw at most ``fps`` times a second while it is on screen.

    Args:
        frame_source: Returns the newest frame (with ``rgb``, ``seq``) or None.
        guide_tone: Colour of the face guide: ``good`` when the face check is happy.
        frozen: A still picture (the captured photo) shown instead of the live feed.
        waiting_text: Shown while no frame has arrived yet.
    """

    fps = 15.0

    def __init__(
        self,
        id: str,
        rect: pygame.Rect | Sequence[int],
        kit: Kit,
        frame_source: Callable[[], Any],
        *,
        guide_tone: GuideTone = "neutral",
        frozen: pygame.Surface | None = None,
        waiting_text: str = "",
        mirror: bool = True,
        cache: dict | None = None,
    ) -> None:
        super().__init__(id, rect, kit)
        self.frame_source = frame_source
        self.guide_tone = guide_tone
        self.frozen = frozen
        self.waiting_text = waiting_text
        self.mirror = mirror
        # The screen keeps this dict across rebuilds, so a rebuild does not convert the frame again.
        self._cache = cache if cache is not None else {}

    def texts(self) -> list[str]:
        return [self.waiting_text] if self.waiting_text and self._cache.get("image") is None else []

    def next_frame(self, now: float) -> float | None:
        return None if self.frozen is not None else now + 1.0 / self.fps

    def _picture(self) -> pygame.Surface | None:
        if self.frozen is not None:
            return self._fit(self.frozen, key="frozen", seq=id(self.frozen))
        frame = self.frame_source()
        if frame is None:
            return self._cache.get("image")
        if self._cache.get("seq") == frame.seq and self._cache.get("size") == self.rect.size:
            return self._cache["image"]
        rgb = frame.rgb
        height, width = rgb.shape[:2]
        # A copy, not frombuffer: the frame's array belongs to the camera thread, and a surface sharing
        # its memory could outlive it.
        raw = pygame.image.frombytes(rgb.tobytes(), (width, height), "RGB")
        image = self._cover(raw)
        if self.mirror:
            image = pygame.transform.flip(image, True, False)
        self._cache.update(seq=frame.seq, size=self.rect.size, image=image)
        return image

    def _fit(self, picture: pygame.Surface, *, key: str, seq: int) -> pygame.Surface:
        cached = self._cache.get(key)
        if cached is not None and cached[0] == (seq, self.rect.size):
            return cached[1]
        image = self._cover(picture)
        if self.mirror:
            image = pygame.transform.flip(image, True, False)
        self._cache[key] = ((seq, self.rect.size), image)
        return image

    def _cover(self, picture: pygame.Surface) -> pygame.Surface:
        """Scale ``picture`` to cover the view and crop the middle (no bars, no distortion)."""
        pw, ph = picture.get_size()
        scale = max(self.rect.width / pw, self.rect.height / ph)
        size = (max(1, round(pw * scale)), max(1, round(ph * scale)))
        scaled = pygame.transform.smoothscale(
            picture.convert() if pygame.display.get_surface() else picture, size
        )
        crop = pygame.Rect(0, 0, *self.rect.size)
        crop.center = (size[0] // 2, size[1] // 2)
        return scaled.subsurface(crop.clip(scaled.get_rect())).copy()

    def draw(self, surface: pygame.Surface, now: float) -> None:
        m = self.kit.metrics
        picture = self._picture()
        pygame.draw.rect(surface, (30, 34, 40), self.rect, border_radius=m.radius)
        if picture is not None:
            surface.blit(picture, self.rect.topleft)
        elif self.waiting_text:
            image = self.kit.text.render(self.waiting_text, m.text_body, (235, 238, 242))
            surface.blit(image, image.get_rect(center=self.rect.center))
        surface.blit(self._guide(), self.rect.topleft)

    def _guide(self) -> pygame.Surface:
        """The face oval over a dimmed surround; drawn once per size and tone."""
        key = ("guide", self.rect.size, self.guide_tone, self.frozen is not None)
        cached = self._cache.get("guide")
        if cached is not None and cached[0] == key:
            return cached[1]
        p, m = self.kit.palette, self.kit.metrics
        w, h = self.rect.size
        overlay = pygame.Surface((w, h), pygame.SRCALPHA)
        oval_h = int(h * 0.78)
        oval_w = int(oval_h * 0.74)
        oval = pygame.Rect(0, 0, oval_w, oval_h)
        oval.center = (w // 2, int(h * 0.47))
        if self.frozen is None:
            overlay.fill((0, 0, 0, 110))
            pygame.draw.ellipse(overlay, (0, 0, 0, 0), oval)
        color = {"neutral": (255, 255, 255), "good": (70, 200, 110), "adjust": (255, 196, 61)}[
            self.guide_tone
        ]
        if self.frozen is None:
            pygame.draw.ellipse(overlay, (*color, 255), oval, width=max(3, m.px(4)))
        # Rounded corners that match the cards around the view.
        corner = pygame.Surface((w, h), pygame.SRCALPHA)
        corner.fill(p.background)
        pygame.draw.rect(corner, (0, 0, 0, 0), corner.get_rect(), border_radius=m.radius)
        overlay.blit(corner, (0, 0))
        self._cache["guide"] = (key, overlay)
        return overlay
