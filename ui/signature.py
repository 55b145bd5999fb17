"""The signature being written: pen samples from the pad or a finger, and the PNG made from them.

It lives in the signature screen (not in a widget), so rebuilding the screen's widgets (a
language switch, a new pen sample) keeps the strokes. Everything here stays in RAM: a signature
is personal data.
"""

from __future__ import annotations

import io
from collections.abc import Callable
from typing import Literal

import pygame

from kiosk.records import PenPoint, SignatureCapture

#: The PNG stored with the record: wide enough to read, small enough to stay a few kilobytes.
PNG_WIDTH = 600


class Ink:
    """Pen samples of one signature in the source's own coordinates.

    Args:
        source: ``"pad"`` (coordinates 0..``width``-1 of the pad) or ``"touch"`` (canvas pixels).
        width: Width of the coordinate space.
        height: Height of the coordinate space.
        clock: Monotonic seconds, for the sample times.
    """

    def __init__(
        self, source: Literal["pad", "touch"], width: int, height: int, clock: Callable[[], float]
    ) -> None:
        self.source = source
        self.width = max(1, width)
        self.height = max(1, height)
        self._clock = clock
        self.samples: list[PenPoint] = []
        self._start: float | None = None
        self.revision = 0

    def add(
        self, x: float, y: float, pen_down: bool, *, t: float | None = None, pressure: int | None = None
    ) -> None:
        """Add one sample; ``t`` is a monotonic time (the clock's now when None)."""
        now = self._clock() if t is None else t
        if self._start is None:
            if not pen_down:
                return  # a hovering pen before the first stroke draws nothing
            self._start = now
        x = min(max(0, int(round(x))), self.width - 1)
        y = min(max(0, int(round(y))), self.height - 1)
        self.samples.append(
            PenPoint(t=max(0.0, now - self._start), x=x, y=y, pen_down=pen_down, pressure=pressure)
        )
        self.revision += 1

    def clear(self) -> None:
        """Forget every sample (the "clear" button)."""
        self.samples = []
        self._start = None
        self.revision += 1

    @property
    def has_ink(self) -> bool:
        """True once at least one stroke touched the surface."""
        return any(s.pen_down for s in self.samples)

    def strokes(self) -> list[list[tuple[int, int]]]:
        """Pen-down runs of samples as lists of points."""
        strokes: list[list[tuple[int, int]]] = []
        current: list[tuple[int, int]] | None = None
        for sample in self.samples:
            if sample.pen_down:
                if current is None:
                    current = []
                    strokes.append(current)
                current.append((sample.x, sample.y))
            else:
                current = None
        return strokes

    def draw(self, surface: pygame.Surface, color, *, since: int = 0, width: int = 3) -> int:
        """Draw the strokes (from sample index ``since``) scaled onto ``surface``; returns the samples drawn.

        Drawing only the new samples lets the canvas follow the pen without redrawing the whole
        signature every frame.
        """
        sw, sh = surface.get_size()
        sx, sy = sw / self.width, sh / self.height
        radius = max(1, width // 2)
        previous: PenPoint | None = self.samples[since - 1] if since > 0 else None
        for sample in self.samples[since:]:
            point = (round(sample.x * sx), round(sample.y * sy))
            if sample.pen_down:
                if previous is not None and previous.pen_down:
                    start = (round(previous.x * sx), round(previous.y * sy))
                    pygame.draw.line(surface, color, start, point, width)
                pygame.draw.circle(surface, color, point, radius)
            previous = sample
        return len(self.samples)

    def capture(self) -> SignatureCapture:
        """The signature for the record: samples, their coordinate space and a PNG (in memory)."""
        height = max(1, round(PNG_WIDTH * self.height / self.width))
        image = pygame.Surface((PNG_WIDTH, height))
        image.fill((255, 255, 255))
        self.draw(image, (0, 0, 0), width=max(2, PNG_WIDTH // 200))
        buffer = io.BytesIO()
        pygame.image.save(image, buffer, "signature.png")
        return SignatureCapture(
            samples=tuple(self.samples),
            width=self.width,
            height=self.height,
            png=buffer.getvalue(),
            source=self.source,
        )
