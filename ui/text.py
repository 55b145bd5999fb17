"""Fonts and text: find a proper font on the system, render every text once, cache the result.

pygame's default font renders with uneven letter spacing, so the kiosk uses ``pygame.freetype``
with Inter, Noto Sans or DejaVu Sans (the Pi installer brings them from Debian's ``fonts-*``
packages) and falls back to the font bundled with pygame. A frame blits cached surfaces; it never
lays out text.
"""

from __future__ import annotations

import logging
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path

import pygame
import pygame.freetype

from kiosk.design_fonts import DESIGN_FONT_BOLD, DESIGN_FONT_REGULAR

log = logging.getLogger(__name__)

Color = tuple[int, int, int] | tuple[int, int, int, int]

#: Regular and bold faces, best first. Debian paths; the installer puts the fonts there.
_FONT_FAMILIES: tuple[tuple[str, str], ...] = (
    (str(DESIGN_FONT_REGULAR), str(DESIGN_FONT_BOLD)),
    (
        "/usr/share/fonts/opentype/inter/Inter-Regular.otf",
        "/usr/share/fonts/opentype/inter/Inter-SemiBold.otf",
    ),
    (
        "/usr/share/fonts/truetype/inter/Inter-Regular.ttf",
        "/usr/share/fonts/truetype/inter/Inter-SemiBold.ttf",
    ),
    (
        "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",
        "/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf",
    ),
)


@dataclass(frozen=True)
class FontFiles:
    """The font files in use; ``None`` means pygame's bundled font."""

    regular: Path | None
    bold: Path | None

    @property
    def name(self) -> str:
        """A short description for logs and the maintenance screen."""
        return self.regular.name if self.regular else "pygame default font"


def find_fonts(preferred: str = "", families: tuple[tuple[str, str], ...] = _FONT_FAMILIES) -> FontFiles:
    """Return the best font files present on this system.

    Args:
        preferred: A font file from the config; used for both weights when it exists.
        families: Candidate (regular, bold) paths, best first.
    """
    if preferred:
        path = Path(preferred).expanduser()
        if path.is_file():
            return FontFiles(path, path)
        log.warning("the configured font %s does not exist; looking for another", path)
    for regular, bold in families:
        regular_path, bold_path = Path(regular), Path(bold)
        if regular_path.is_file():
            return FontFiles(regular_path, bold_path if bold_path.is_file() else regular_path)
    log.warning("no Noto Sans, Inter or DejaVu Sans found; text uses pygame's bundled font")
    return FontFiles(None, None)


#: Text pixels the renderer keeps: many screens' worth (a screen's texts take well under 1 MB at 1280 x 800).
MAX_TEXT_BYTES = 16 * 1024 * 1024


class TextRenderer:
    """Renders text with ``pygame.freetype`` and keeps every rendered line in an LRU cache.

    Args:
        fonts: The font files to use.
        max_entries: Rendered surfaces kept; old ones are dropped first. A screen needs a few
            dozen, so the default keeps many screens' worth without growing without bound.
        max_bytes: Pixels kept, in bytes; old surfaces are dropped first. Typing renders a surface per
            keystroke, so the count alone let a single journey hold ~50 MB of text pixels.
    """

    def __init__(self, fonts: FontFiles, *, max_entries: int = 1500, max_bytes: int = MAX_TEXT_BYTES) -> None:
        if not pygame.freetype.get_init():
            pygame.freetype.init()
        self.fonts = fonts
        self._faces: dict[bool, pygame.freetype.Font] = {}
        for bold in (False, True):
            path = fonts.bold if bold else fonts.regular
            face = pygame.freetype.Font(str(path) if path else None, 16)
            face.kerning = True  # even spacing between letter pairs (where the font has a kern table)
            face.origin = True  # render_to positions at the baseline, so lines of mixed text align
            face.pad = False
            if path is None and bold:
                face.strong = True
            self._faces[bold] = face
        self._surfaces: OrderedDict[tuple, pygame.Surface] = OrderedDict()
        self._wraps: OrderedDict[tuple, tuple[str, ...]] = OrderedDict()
        self._max = max_entries
        self._max_bytes = max_bytes
        self._bytes = 0  # pixels held by the surfaces in self._surfaces
        self.renders = 0  # how many times text was really laid out (benchmarks and tests read it)

    def _face(self, bold: bool) -> pygame.freetype.Font:
        return self._faces[bold]

    def line_height(self, size: int, bold: bool = False) -> int:
        """Height of one line of text of ``size`` pixels, including the font's line gap."""
        return int(self._face(bold).get_sized_height(size))

    def width(self, text: str, size: int, bold: bool = False) -> int:
        """Advance width of ``text`` in pixels."""
        if not text:
            return 0
        surface = self.render(text, size, (0, 0, 0), bold=bold)
        return surface.get_width()

    def render(self, text: str, size: int, color: Color, *, bold: bool = False) -> pygame.Surface:
        """Return a transparent surface with ``text`` on one line; rendered once, then cached."""
        key = (text, size, tuple(color), bold)
        surface = self._surfaces.get(key)
        if surface is not None:
            self._surfaces.move_to_end(key)
            return surface
        face = self._face(bold)
        height = self.line_height(size, bold)
        ascender = int(face.get_sized_ascender(size))
        if text:
            bounds = face.get_rect(text, size=size)
            # The advance can be narrower than the ink (italic overhang) or wider (trailing space).
            left = max(0, -bounds.x)
            width = max(bounds.x + bounds.width, _advance(face, text, size)) + left
        else:
            left, width = 0, 1
        surface = pygame.Surface((max(1, width), max(1, height)), pygame.SRCALPHA)
        if text:
            face.render_to(surface, (left, ascender), text, fgcolor=color, size=size)
        self.renders += 1
        self._surfaces[key] = surface
        self._bytes += _pixel_bytes(surface)
        while len(self._surfaces) > 1 and (len(self._surfaces) > self._max or self._bytes > self._max_bytes):
            _, dropped = self._surfaces.popitem(last=False)
            self._bytes -= _pixel_bytes(dropped)
        return surface

    def wrap(self, text: str, size: int, max_width: int, *, bold: bool = False) -> tuple[str, ...]:
        """Break ``text`` into lines no wider than ``max_width`` (words longer than that are split)."""
        key = (text, size, max_width, bold)
        lines = self._wraps.get(key)
        if lines is not None:
            return lines
        face = self._face(bold)
        result: list[str] = []
        for paragraph in text.split("\n"):
            line = ""
            for word in paragraph.split(" "):
                candidate = f"{line} {word}" if line else word
                if _advance(face, candidate, size) <= max_width:
                    line = candidate
                    continue
                if line:
                    result.append(line)
                line = ""
                # A single word wider than the line (a long name) is cut into pieces that fit.
                while _advance(face, word, size) > max_width and len(word) > 1:
                    cut = len(word) - 1
                    while cut > 1 and _advance(face, word[:cut], size) > max_width:
                        cut -= 1
                    result.append(word[:cut])
                    word = word[cut:]
                line = word
            result.append(line)
        lines = tuple(result)
        self._wraps[key] = lines
        if len(self._wraps) > self._max:
            self._wraps.popitem(last=False)
        return lines

    def fit_size(self, text: str, size: int, max_width: int, *, bold: bool = False, minimum: int = 10) -> int:
        """The largest size <= ``size`` at which ``text`` fits in ``max_width`` on one line (cached)."""
        key = ("fit", text, size, max_width, bold, minimum)
        cached = self._wraps.get(key)
        if cached is not None:
            return cached[0]
        face = self._face(bold)
        while size > minimum and _advance(face, text, size) > max_width:
            size -= 1
        self._wraps[key] = (size,)
        if len(self._wraps) > self._max:
            self._wraps.popitem(last=False)
        return size

    def clear(self) -> None:
        """Forget every cached surface (after a theme or resolution change)."""
        self._surfaces.clear()
        self._bytes = 0
        self._wraps.clear()


def _pixel_bytes(surface: pygame.Surface) -> int:
    return surface.get_pitch() * surface.get_height()


def _advance(face: pygame.freetype.Font, text: str, size: int) -> int:
    if not text:
        return 0
    metrics = face.get_metrics(text, size=size)
    advance = sum(m[4] for m in metrics if m is not None)
    return int(round(advance))
