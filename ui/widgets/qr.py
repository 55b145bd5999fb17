"""A QR code drawn crisply from segno's module matrix."""

from __future__ import annotations

from collections.abc import Sequence

import pygame

from ui.widgets.base import Kit, Widget


def qr_modules(data: str, *, border: int = 4) -> list[list[int]]:
    """The module matrix of ``data`` as a QR code, quiet zone of ``border`` modules included.

    Error correction M survives a scuffed phone screen or a crumpled receipt; the quiet zone of
    four modules is what scanners expect.
    """
    import segno  # at the first QR (the receipt), not with the welcome screen: it pulls in xml.sax

    code = segno.make(data, error="m", micro=False)
    return [list(row) for row in code.matrix_iter(scale=1, border=border)]


def qr_surface(
    data: str, max_size: int, *, dark=(0, 0, 0), light=(255, 255, 255), border: int = 4
) -> pygame.Surface:
    """Render ``data`` as a QR code no larger than ``max_size`` pixels, whole pixels per module."""
    return _draw_modules(qr_modules(data, border=border), max_size, dark, light)


def _draw_modules(rows: list[list[int]], max_size: int, dark, light) -> pygame.Surface:
    n = len(rows)
    module = max(1, max_size // n)
    small = pygame.Surface((n, n))
    small.fill(light)
    pixels = pygame.PixelArray(small)
    dark_value = small.map_rgb(dark)
    for y, row in enumerate(rows):
        for x, bit in enumerate(row):
            if bit:
                pixels[x, y] = dark_value
    del pixels
    # Nearest-neighbour scaling by a whole factor keeps every module square and sharp.
    return pygame.transform.scale(small, (n * module, n * module))


class QrCode(Widget):
    """A QR code centred in its rectangle; rendered once when the widget is made.

    Attributes:
        modules: Modules across, quiet zone included.
        module_px: Screen pixels per module (a scanner reading a screen wants 3 or more).
    """

    def __init__(self, id: str, rect: pygame.Rect | Sequence[int], kit: Kit, data: str) -> None:
        super().__init__(id, rect, kit)
        self.data = data
        # Encoded once (segno is pure Python: a few ms for the receipt's signed payload on a Pi).
        rows = qr_modules(data)
        self.modules = len(rows)
        self.image = _draw_modules(rows, min(self.rect.width, self.rect.height), (0, 0, 0), (255, 255, 255))
        self.module_px = self.image.get_width() // self.modules

    def draw(self, surface: pygame.Surface, now: float) -> None:
        surface.blit(self.image, self.image.get_rect(center=self.rect.center))
