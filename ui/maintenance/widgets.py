"""Widgets the maintenance screens need and the citizen's toolkit has not: built on :mod:`ui.widgets`.

A progress bar (sync and export), the dots of a hidden PIN, a status line with a coloured dot (a device, a
connection) and the log view. They draw with the same theme, metrics and text renderer as every other
widget and keep stable ids for the test pilot.
"""

from __future__ import annotations

from collections.abc import Sequence

import pygame

from ui.maintenance.log_lines import LogLine
from ui.maintenance.wording import clock_time
from ui.widgets.base import Kit, Widget
from ui.widgets.label import Tone

#: Colour role of each log level.
_LEVEL_TONE = {"WARNING": "warning", "ERROR": "error", "CRITICAL": "error"}


class ProgressBar(Widget):
    """A bar that fills from left to right, with a caption above it ("12 of 40 records").

    Args:
        fraction: 0..1, or None while the total is not known yet (a calm moving band is drawn).
        caption: Already translated text.
        tone: ``primary`` while running, ``success`` when done, ``error`` when it failed.
    """

    fps = 12.0

    def __init__(
        self,
        id: str,
        rect: pygame.Rect | Sequence[int],
        kit: Kit,
        fraction: float | None,
        caption: str = "",
        *,
        tone: Tone = "primary",
    ) -> None:
        super().__init__(id, rect, kit)
        self.fraction = None if fraction is None else min(1.0, max(0.0, fraction))
        self.caption = caption
        self.tone = tone

    def texts(self) -> list[str]:
        return [self.caption] if self.caption else []

    def next_frame(self, now: float) -> float | None:
        return now + 1.0 / self.fps if self.fraction is None else None

    def _track(self) -> pygame.Rect:
        m = self.kit.metrics
        height = m.px(14)
        return pygame.Rect(self.rect.x, self.rect.bottom - height, self.rect.width, height)

    def draw(self, surface: pygame.Surface, now: float) -> None:
        p, m = self.kit.palette, self.kit.metrics
        color = {"success": p.success, "error": p.error, "warning": p.warning}.get(self.tone, p.primary)
        if self.caption:
            image = self.kit.text.render(self.caption, m.text_small, p.text)
            surface.blit(image, (self.rect.x, self.rect.y))
        track = self._track()
        radius = track.height // 2
        pygame.draw.rect(surface, p.surface_alt, track, border_radius=radius)
        if self.fraction is None:
            # Unknown total: a band a quarter of the track wide glides back and forth.
            band = track.width // 4
            phase = (now * 0.6) % 2.0
            x = track.x + round((phase if phase <= 1 else 2 - phase) * (track.width - band))
            pygame.draw.rect(surface, color, (x, track.y, band, track.height), border_radius=radius)
        elif self.fraction > 0:
            width = max(track.height, round(track.width * self.fraction))
            pygame.draw.rect(surface, color, (track.x, track.y, width, track.height), border_radius=radius)
        pygame.draw.rect(surface, p.border, track, width=max(1, m.px(1)), border_radius=radius)


class PinDots(Widget):
    """One dot per typed digit, never the digits themselves; empty rings show the shortest PIN's length.

    Args:
        count: Digits typed so far.
        minimum: Rings always shown (the shortest valid PIN).
        maximum: The longest PIN; no more dots than this.
    """

    def __init__(
        self,
        id: str,
        rect: pygame.Rect | Sequence[int],
        kit: Kit,
        count: int,
        *,
        minimum: int = 4,
        maximum: int = 12,
    ) -> None:
        super().__init__(id, rect, kit)
        self.count = max(0, min(count, maximum))
        self.slots = max(minimum, self.count)

    def texts(self) -> list[str]:
        # What a reader (and the test pilot) sees: dots, never digits.
        return ["\u25cf" * self.count] if self.count else []

    def draw(self, surface: pygame.Surface, now: float) -> None:
        p, m = self.kit.palette, self.kit.metrics
        radius = min(m.px(11), self.rect.height // 2 - 1)
        step = min(radius * 3 + m.px(4), self.rect.width // max(1, self.slots))
        x = self.rect.centerx - step * (self.slots - 1) // 2
        for index in range(self.slots):
            center = (x + index * step, self.rect.centery)
            if index < self.count:
                pygame.draw.circle(surface, p.text, center, radius)
            else:
                pygame.draw.circle(surface, p.border, center, radius, width=max(2, m.px(2)))


class StatusLine(Widget):
    """A coloured dot, a bold name, a status word and, below them, the detail in smaller type.

    Args:
        name: "Camera".
        status: "Failed".
        detail: "camera disconnected" (empty when all is well).
        tone: Colour of the dot and the status word (``success``, ``warning``, ``error``, ``muted``).
        note: Small muted text at the right of the first line (the backend, a time).
    """

    def __init__(
        self,
        id: str,
        rect: pygame.Rect | Sequence[int],
        kit: Kit,
        name: str,
        status: str,
        detail: str = "",
        *,
        tone: Tone = "muted",
        note: str = "",
    ) -> None:
        super().__init__(id, rect, kit)
        self.name = name
        self.status = status
        self.detail = detail
        self.tone = tone
        self.note = note

    def texts(self) -> list[str]:
        return [t for t in (self.name, self.status, self.detail, self.note) if t]

    def _color(self, tone: str) -> tuple:
        p = self.kit.palette
        return {"success": p.success, "warning": p.warning, "error": p.error}.get(tone, p.text_muted)

    def _indent(self) -> int:
        return 2 * max(4, self.kit.metrics.px(7)) + self.kit.metrics.px(10)

    def _note_inline(self) -> bool:
        """Whether the note fits at the right of the first line (else it opens the second line)."""
        m, text = self.kit.metrics, self.kit.text
        used = (
            self._indent()
            + text.width(self.name, m.text_body, True)
            + m.px(12)
            + text.width(self.status, m.text_body, self.tone == "error")
            + m.px(12)
        )
        return not self.note or used + text.width(self.note, m.text_small) <= self.rect.width

    def detail_lines(self) -> tuple[str, ...]:
        """The lines under the name: the detail, after the note when the first line has no room for it."""
        detail = self.detail
        if not self._note_inline():
            detail = f"{self.note} \u00b7 {detail}" if detail else self.note
        if not detail:
            return ()
        return self.kit.text.wrap(detail, self.kit.metrics.text_small, self.rect.width - self._indent())

    def wanted_height(self) -> int:
        """The height that shows everything: the first line and every detail line."""
        m, text = self.kit.metrics, self.kit.text
        return text.line_height(m.text_body, True) + len(self.detail_lines()) * text.line_height(m.text_small)

    def draw(self, surface: pygame.Surface, now: float) -> None:
        p, m, text = self.kit.palette, self.kit.metrics, self.kit.text
        body = m.text_body
        line_h = text.line_height(body, True)
        y = self.rect.y
        radius = max(4, m.px(7))
        pygame.draw.circle(surface, self._color(self.tone), (self.rect.x + radius, y + line_h // 2), radius)
        x = self.rect.x + self._indent()
        name = text.render(self.name, body, p.text, bold=True)
        surface.blit(name, (x, y))
        x += name.get_width() + m.px(12)
        status_color = self._color(self.tone) if self.tone != "muted" else p.text_muted
        status = text.render(self.status, body, status_color, bold=self.tone == "error")
        surface.blit(status, (x, y))
        if self.note and self._note_inline():
            note = text.render(self.note, m.text_small, p.text_muted)
            surface.blit(note, (self.rect.right - note.get_width(), y + (line_h - note.get_height()) // 2))
        small = m.text_small
        room = (self.rect.bottom - y - line_h) // text.line_height(small)
        color = p.error if self.tone == "error" and self.detail else p.text_muted
        lines = list(self.detail_lines())
        if not lines:
            return
        if room <= 0:
            # No second line to spare (a crowded dashboard): the detail follows the status, cut visibly.
            x += status.get_width() + m.px(12)
            words = " ".join(lines)
            line = _cut(text, words, small, self.rect.right - x)
            image = text.render(line, small, color)
            surface.blit(image, (x, y + (line_h - image.get_height()) // 2))
            return
        if len(lines) > room:
            lines = lines[:room]
            lines[-1] = _cut(
                text, lines[-1] + " \u2026", small, self.rect.right - self.rect.x - self._indent()
            )
        y += line_h
        for line in lines:
            surface.blit(text.render(line, small, color), (self.rect.x + self._indent(), y))
            y += text.line_height(small)


def _cut(text, words: str, size: int, width: int) -> str:
    """``words`` as far as they fit in ``width``, ending in an ellipsis when they were cut."""
    if text.width(words, size) <= width:
        return words
    words = words.removesuffix(" \u2026")
    while words and text.width(words + " \u2026", size) > width:
        words = words[:-1].rstrip()
    return words + " \u2026"


class LogView(Widget):
    """Log lines, one per row, the time and level muted and warnings and errors coloured.

    Args:
        lines: The lines to show, oldest first; the view shows as many of the last ones as fit.
    """

    def __init__(
        self, id: str, rect: pygame.Rect | Sequence[int], kit: Kit, lines: Sequence[LogLine]
    ) -> None:
        super().__init__(id, rect, kit)
        self.lines = tuple(lines)

    def rows(self) -> int:
        """How many lines fit."""
        return max(1, self.rect.height // self.kit.text.line_height(self.kit.metrics.text_small))

    def _shown(self) -> tuple[LogLine, ...]:
        return self.lines[-self.rows() :]

    def texts(self) -> list[str]:
        return [line.message for line in self._shown()]

    def draw(self, surface: pygame.Surface, now: float) -> None:
        p, m, text = self.kit.palette, self.kit.metrics, self.kit.text
        pygame.draw.rect(surface, p.surface, self.rect, border_radius=m.radius // 2)
        size = m.text_small
        line_h = text.line_height(size)
        inner = self.rect.inflate(-m.px(16), 0)
        stamp_w = text.width("00:00:00  WARNING", size) + m.px(12)
        y = self.rect.y + (self.rect.height - self.rows() * line_h) // 2
        clip = surface.get_clip()
        surface.set_clip(self.rect)
        for line in self._shown():
            tone = _LEVEL_TONE.get(line.level)
            color = {"warning": p.warning, "error": p.error}.get(tone or "", p.text)
            stamp = f"{clock_time(line.at, seconds=True)}  {line.level}"
            surface.blit(text.render(stamp, size, p.text_muted), (inner.x, y))
            message = f"{line.logger}: {line.message}"
            room = inner.width - stamp_w
            cut = text.wrap(message, size, room)[0] if message else ""
            if cut != message:
                cut = cut.rstrip() + " \u2026"
            surface.blit(text.render(cut, size, color), (inner.x + stamp_w, y))
            y += line_h
        surface.set_clip(clip)
        pygame.draw.rect(surface, p.border, self.rect, width=max(1, m.px(1)), border_radius=m.radius // 2)
