"""A line chart drawn with pygame's primitives: queue depth and battery charge over the last 24 hours.

Two vertical scales: counts on the left (records), percent on the right (battery, always 0-100). A series
is broken where samples are missing for longer than ``gap_s`` (the kiosk was off), so a line never pretends
to know what happened while nobody was measuring.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Literal

import pygame

from ui.widgets.base import Kit, Widget

Axis = Literal["left", "right"]
ColorRole = Literal["primary", "error", "success", "warning"]


@dataclass(frozen=True)
class ChartSeries:
    """One line of the chart.

    Attributes:
        label: Already translated legend text.
        points: ``(seconds since the epoch, value)``, oldest first.
        axis: ``left`` (counts) or ``right`` (percent).
        color: Theme colour role of the line.
    """

    label: str
    points: tuple[tuple[float, float], ...]
    axis: Axis = "left"
    color: ColorRole = "primary"


def nice_ceiling(value: float) -> int:
    """The smallest of 1, 2, 5, 10, 20, 50, ... that is at least ``value``."""
    if value <= 1:
        return 1
    power = 10 ** math.floor(math.log10(value))
    for step in (1, 2, 5, 10):
        if step * power >= value:
            return int(step * power)
    return int(10 * power)


def count_scale(value: float) -> int:
    """Top of a count scale of four whole steps that reaches ``value``: 4, 8, 20, 40, 80, 200, ..."""
    return 4 * nice_ceiling(value / 4)


class LineChart(Widget):
    """The chart (see the module docstring).

    Args:
        series: The lines.
        start: Left edge of the time axis (seconds since the epoch).
        end: Right edge of the time axis.
        left_title: Caption of the left scale ("Records").
        right_title: Caption of the right scale ("Battery %").
        tick_label: Turns a time on the axis into its label ("14:00").
        gap_s: Longest time between two samples that is still drawn as a line.
        empty_text: Shown in the middle while no series has a point.
    """

    def __init__(
        self,
        id: str,
        rect: pygame.Rect | Sequence[int],
        kit: Kit,
        series: Sequence[ChartSeries],
        *,
        start: float,
        end: float,
        left_title: str,
        right_title: str,
        tick_label: Callable[[float], str],
        gap_s: float,
        empty_text: str = "",
    ) -> None:
        super().__init__(id, rect, kit)
        self.series = tuple(series)
        self.start = start
        self.end = max(end, start + 1.0)
        self.left_title = left_title
        self.right_title = right_title
        self.tick_label = tick_label
        self.gap_s = gap_s
        self.empty_text = empty_text
        left_values = [v for s in self.series if s.axis == "left" for _, v in s.points]
        self.left_max = count_scale(max(left_values, default=0.0))

    @property
    def empty(self) -> bool:
        """True when there is nothing to draw."""
        return not any(s.points for s in self.series)

    def texts(self) -> list[str]:
        texts = [self.left_title, self.right_title, *(s.label for s in self.series)]
        return texts + ([self.empty_text] if self.empty and self.empty_text else [])

    def _plot(self) -> pygame.Rect:
        m, text = self.kit.metrics, self.kit.text
        small = m.text_small
        left = text.width(str(self.left_max), small) + m.px(14)
        right = text.width("100", small) + m.px(14)
        top = text.line_height(small) * 2 + m.px(6)  # the legend, then the scale titles
        bottom = text.line_height(small) + m.px(8)  # the time labels
        return pygame.Rect(
            self.rect.x + left,
            self.rect.y + top,
            self.rect.width - left - right,
            self.rect.height - top - bottom,
        )

    def _x(self, plot: pygame.Rect, at: float) -> int:
        return plot.x + round((at - self.start) / (self.end - self.start) * plot.width)

    def _y(self, plot: pygame.Rect, value: float, axis: Axis) -> int:
        top = self.left_max if axis == "left" else 100.0
        share = min(1.0, max(0.0, value / top))
        return plot.bottom - round(share * plot.height)

    def draw(self, surface: pygame.Surface, now: float) -> None:
        p, m, text = self.kit.palette, self.kit.metrics, self.kit.text
        small = m.text_small
        pygame.draw.rect(surface, p.surface, self.rect, border_radius=m.radius)
        pygame.draw.rect(surface, p.border, self.rect, width=max(1, m.px(1)), border_radius=m.radius)
        plot = self._plot()
        self._draw_legend(surface)
        # Scale titles above each scale.
        line_h = text.line_height(small)
        surface.blit(
            text.render(self.left_title, small, p.text_muted),
            (self.rect.x + m.px(8), plot.y - line_h - m.px(4)),
        )
        right_title = text.render(self.right_title, small, p.text_muted)
        surface.blit(
            right_title, (self.rect.right - m.px(8) - right_title.get_width(), plot.y - line_h - m.px(4))
        )
        # Horizontal grid: quarters of both scales.
        for i in range(5):
            y = plot.bottom - round(i * plot.height / 4)
            pygame.draw.line(
                surface, p.surface_alt if i else p.border, (plot.x, y), (plot.right, y), max(1, m.px(1))
            )
            left = text.render(_number(self.left_max * i / 4), small, p.text_muted)
            surface.blit(left, (plot.x - m.px(8) - left.get_width(), y - left.get_height() // 2))
            right = text.render(str(25 * i), small, p.text_muted)
            surface.blit(right, (plot.right + m.px(8), y - right.get_height() // 2))
        # Vertical grid: every three hours, on the hour.
        step = 3 * 3600
        tick = math.ceil(self.start / step) * step
        while tick <= self.end:
            x = self._x(plot, tick)
            pygame.draw.line(surface, p.surface_alt, (x, plot.y), (x, plot.bottom), max(1, m.px(1)))
            label = text.render(self.tick_label(tick), small, p.text_muted)
            label_x = min(max(self.rect.x, x - label.get_width() // 2), self.rect.right - label.get_width())
            surface.blit(label, (label_x, plot.bottom + m.px(6)))
            tick += step
        for series in self.series:
            self._draw_series(surface, plot, series)
        if self.empty and self.empty_text:
            image = text.render(self.empty_text, m.text_body, p.text_muted)
            surface.blit(image, image.get_rect(center=plot.center))

    def _draw_legend(self, surface: pygame.Surface) -> None:
        p, m, text = self.kit.palette, self.kit.metrics, self.kit.text
        small = m.text_small
        x = self.rect.x + m.px(10)
        y = self.rect.y + m.px(4)
        line_h = text.line_height(small)
        for series in self.series:
            color = self._color(series.color)
            pygame.draw.line(
                surface, color, (x, y + line_h // 2), (x + m.px(22), y + line_h // 2), max(2, m.px(3))
            )
            x += m.px(28)
            image = text.render(series.label, small, p.text)
            surface.blit(image, (x, y))
            x += image.get_width() + m.px(22)

    def _color(self, role: str) -> tuple:
        p = self.kit.palette
        return {"error": p.error, "success": p.success, "warning": p.warning}.get(role, p.primary)

    def _draw_series(self, surface: pygame.Surface, plot: pygame.Rect, series: ChartSeries) -> None:
        m = self.kit.metrics
        color = self._color(series.color)
        width = max(2, m.px(2))
        run: list[tuple[int, int]] = []
        previous: float | None = None
        for at, value in series.points:
            if not self.start <= at <= self.end:
                continue
            if previous is not None and at - previous > self.gap_s:
                self._draw_run(surface, color, run, width)
                run = []
            run.append((self._x(plot, at), self._y(plot, value, series.axis)))
            previous = at
        self._draw_run(surface, color, run, width)

    @staticmethod
    def _draw_run(surface: pygame.Surface, color: tuple, run: list[tuple[int, int]], width: int) -> None:
        if len(run) >= 2:
            pygame.draw.lines(surface, color, False, run, width)
        elif run:
            pygame.draw.circle(surface, color, run[0], width + 1)


def _number(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else f"{value:.1f}"
