"""Touches and clicks, turned into one stream of pointer events.

SDL reports a finger on a touchscreen twice: as ``FINGER*`` events (normalised 0..1 coordinates)
and as synthetic mouse events that pygame marks with ``event.touch``. Acting on both would press
every button twice, so fingers are read from the ``FINGER*`` events alone and mouse events only
when they come from a real mouse (a desktop, a technician's USB mouse). One finger at a time: a
second finger resting on the glass (a palm, a child's hand) is ignored.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

import pygame


@dataclass(frozen=True)
class Pointer:
    """One pointer event in window pixels."""

    kind: Literal["down", "move", "up", "cancel"]
    pos: tuple[int, int]


class PointerReader:
    """Translates pygame events into :class:`Pointer` events.

    Args:
        window_size: Returns the window's size, to turn a finger's 0..1 coordinates into pixels.
    """

    def __init__(self, window_size: Callable[[], tuple[int, int]]) -> None:
        self._window_size = window_size
        self._finger: int | None = None
        self._mouse_down = False

    def reset(self) -> None:
        """Forget a pointer that is down (the screen changed under it)."""
        self._finger = None
        self._mouse_down = False

    def read(self, event: pygame.event.Event) -> Pointer | None:
        """Return the pointer event ``event`` stands for, or None when it is not one (or a duplicate)."""
        etype = event.type
        if etype in (pygame.FINGERDOWN, pygame.FINGERMOTION, pygame.FINGERUP):
            return self._read_finger(event)
        if etype in (pygame.MOUSEBUTTONDOWN, pygame.MOUSEBUTTONUP, pygame.MOUSEMOTION):
            if getattr(event, "touch", False):
                return None  # the synthetic twin of a FINGER event, already handled
            return self._read_mouse(event)
        if etype == pygame.WINDOWLEAVE and self._mouse_down:
            self._mouse_down = False
            return Pointer("cancel", (-1, -1))
        return None

    def _read_finger(self, event: pygame.event.Event) -> Pointer | None:
        width, height = self._window_size()
        pos = (int(event.x * width), int(event.y * height))
        finger = getattr(event, "finger_id", 0)
        if event.type == pygame.FINGERDOWN:
            if self._finger is not None:
                return None
            self._finger = finger
            return Pointer("down", pos)
        if finger != self._finger:
            return None
        if event.type == pygame.FINGERUP:
            self._finger = None
            return Pointer("up", pos)
        return Pointer("move", pos)

    def _read_mouse(self, event: pygame.event.Event) -> Pointer | None:
        if event.type == pygame.MOUSEBUTTONDOWN:
            if event.button != 1 or self._mouse_down:
                return None
            self._mouse_down = True
            return Pointer("down", tuple(event.pos))
        if event.type == pygame.MOUSEBUTTONUP:
            if event.button != 1 or not self._mouse_down:
                return None
            self._mouse_down = False
            return Pointer("up", tuple(event.pos))
        if self._mouse_down:
            return Pointer("move", tuple(event.pos))
        return None  # hovering means nothing on a touchscreen
