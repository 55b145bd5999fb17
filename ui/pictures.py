"""Decoding photos and signatures for the screen, safely off the UI thread.

Decoding a JPEG takes tens of milliseconds on a Pi, so it runs on a worker thread, with OpenCV
(pure C, no Python callbacks). Only turning the decoded pixels into a pygame surface happens on the
UI thread: pygame's own loaders read Python file objects through callbacks and must not run
beside the main loop.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pygame

if TYPE_CHECKING:
    import numpy


def decode(data: bytes) -> numpy.ndarray | None:
    """JPEG or PNG bytes to an ``H x W x 3`` RGB array (on any thread); None when they do not decode."""
    if not data:
        return None
    # OpenCV and numpy are imported at the first picture (on a worker), not with the welcome screen;
    # kiosk.warm_up has usually loaded them in the background by then.
    import numpy

    from hal.opencv import cv2

    bgr = cv2.imdecode(numpy.frombuffer(data, numpy.uint8), cv2.IMREAD_COLOR)
    if bgr is None:
        return None
    return cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)


def to_surface(rgb: numpy.ndarray | None) -> pygame.Surface | None:
    """A decoded picture as a pygame surface (on the UI thread)."""
    if rgb is None:
        return None
    import numpy

    height, width = rgb.shape[:2]
    return pygame.image.frombytes(numpy.ascontiguousarray(rgb).tobytes(), (width, height), "RGB")
