"""A vertical stack: widgets placed one under the other, so no screen keeps a ``y`` cursor by hand.

    column = Stack(area.x, area.y, area.width, gap=m.px(8))
    column.add(text("help", kit, *column.slot(), words))        # a text as tall as its lines
    column.add(Button("go", column.rect(m.touch), kit, "Go", go))  # a widget of a fixed height
    column.space(m.px(16))                                      # extra room before the next one
    widgets += column.widgets

A widget is placed at :attr:`Stack.y`; adding it moves the cursor to its bottom plus the gap (or the gap
given for that one widget).
"""

from __future__ import annotations

from typing import TypeVar

import pygame

from ui.widgets.base import Widget

W = TypeVar("W", bound=Widget)


class Stack:
    """Places widgets top to bottom in a column.

    Args:
        x: The column's left edge.
        top: Where the first widget goes.
        width: The column's width.
        gap: Space left under each widget.
    """

    def __init__(self, x: int, top: int, width: int, *, gap: int = 0) -> None:
        self.x = x
        self.y = top
        self.width = width
        self.gap = gap
        self.widgets: list[Widget] = []

    def slot(self) -> tuple[int, int, int]:
        """``(x, y, width)`` where the next widget goes (for widgets that size their own height)."""
        return self.x, self.y, self.width

    def rect(self, height: int, width: int | None = None) -> pygame.Rect:
        """The next widget's rectangle when it is ``height`` tall (``width`` defaults to the column's)."""
        return pygame.Rect(self.x, self.y, self.width if width is None else width, height)

    def add(self, widget: W, *, gap: int | None = None) -> W:
        """Keep ``widget`` (placed at :attr:`y`) and move below it; returns it."""
        self.widgets.append(widget)
        self.y = widget.rect.bottom + (self.gap if gap is None else gap)
        return widget

    def space(self, pixels: int) -> None:
        """Leave ``pixels`` more room before the next widget."""
        self.y += pixels

    @property
    def bottom(self) -> int:
        """The bottom of the last widget (without its gap), or the top when empty."""
        return self.widgets[-1].rect.bottom if self.widgets else self.y
