"""The widget base: an id, a rectangle, drawing, pointer handling and the texts it shows."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import pygame

from ui.i18n import Translator
from ui.text import TextRenderer
from ui.theme import Theme


@dataclass
class Kit:
    """What every widget draws with: the theme, the text renderer and the translator."""

    theme: Theme
    text: TextRenderer
    tr: Translator

    @property
    def palette(self):
        """The theme's colours."""
        return self.theme.palette

    @property
    def metrics(self):
        """The theme's sizes for this screen."""
        return self.theme.metrics


class Widget:
    """A rectangle on the screen with a stable id.

    Pointer handling follows the usual touch rules: the widget that receives ``down`` captures the
    pointer and gets the ``move`` and ``up`` that follow, wherever they land. A tap is a ``down``
    and an ``up`` on the same widget.

    Args:
        id: Stable id the test pilot finds the widget by (``"service.ektp"``, ``"nik"``).
        rect: Position and size in window pixels.
        kit: Theme, text renderer and translator.
    """

    def __init__(self, id: str, rect: pygame.Rect | Sequence[int], kit: Kit) -> None:
        self.id = id
        self.rect = pygame.Rect(rect)
        self.kit = kit
        self.visible = True
        self.enabled = True

    # -- tree ---------------------------------------------------------------------------------
    def children(self) -> Sequence[Widget]:
        """Widgets inside this one, in drawing order."""
        return ()

    def walk(self) -> Iterator[Widget]:
        """This widget and every visible descendant, in drawing order."""
        if not self.visible:
            return
        yield self
        for child in self.children():
            yield from child.walk()

    # -- drawing --------------------------------------------------------------------------------
    def draw(self, surface: pygame.Surface, now: float) -> None:
        """Draw the widget (and its children) onto ``surface``."""
        for child in self.children():
            if child.visible:
                child.draw(surface, now)

    def next_frame(self, now: float) -> float | None:
        """When this widget next needs a redraw on its own (animation), or None when it is still."""
        times = [t for child in self.children() if child.visible if (t := child.next_frame(now)) is not None]
        return min(times) if times else None

    def texts(self) -> list[str]:
        """The texts this widget itself shows (children report their own)."""
        return []

    # -- pointer --------------------------------------------------------------------------------
    def hit(self, pos: tuple[int, int]) -> Widget | None:
        """The topmost enabled widget under ``pos`` that handles pointers, or None."""
        if not self.visible or not self.rect.collidepoint(pos):
            return None
        for child in reversed(self.children()):
            found = child.hit(pos)
            if found is not None:
                return found
        return self if self.enabled and self.interactive else None

    #: Whether this widget reacts to the pointer at all (labels do not).
    interactive = False

    def pointer_down(self, pos: tuple[int, int], now: float) -> None:
        """The pointer went down on this widget."""

    def pointer_move(self, pos: tuple[int, int], now: float) -> None:
        """The pointer captured by this widget moved."""

    def pointer_up(self, pos: tuple[int, int], now: float) -> None:
        """The pointer captured by this widget was lifted."""

    def pointer_cancel(self) -> None:
        """The pointer captured by this widget went away without a tap."""

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.id!r} {tuple(self.rect)}>"


class Container(Widget):
    """A widget that only groups others (a screen, a panel, a keyboard)."""

    def __init__(self, id: str, rect: pygame.Rect | Sequence[int], kit: Kit, widgets: Sequence[Widget] = ()):
        super().__init__(id, rect, kit)
        self.widgets: list[Widget] = list(widgets)

    def add(self, widget: Widget) -> Widget:
        """Add ``widget`` on top of the others and return it."""
        self.widgets.append(widget)
        return widget

    def children(self) -> Sequence[Widget]:
        return self.widgets
