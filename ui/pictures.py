"""Decoding photos and signatures for the screen, safely off the UI thread.

Decoding a JPEG takes tens of milliseconds on a Pi, so it runs on a worker thread, with Pillow (no
pygame). Only turning the decoded pixels into a pygame surface happens on the UI thread: pygame's own
loaders read Python file objects through callbacks and must not run beside the main loop. Pillow, not
OpenCV: the kiosk process never loads OpenCV (the face check runs it in a child process).
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
    # numpy and Pillow are imported at the first picture (on a worker), not with the welcome screen;
    # kiosk.warm_up has usually loaded them in the background by then.
    import io

    import numpy
    from PIL import Image, ImageOps

    try:
        with Image.open(io.BytesIO(data)) as image:
            # Turned upright as its EXIF orientation says, as a photo viewer (and OpenCV's imdecode) does.
            return numpy.asarray(ImageOps.exif_transpose(image).convert("RGB"))
    except Exception:  # noqa: BLE001 - bytes that are no picture (or a broken one) are simply not shown
        return None


def to_surface(rgb: numpy.ndarray | None) -> pygame.Surface | None:
    """A decoded picture as a pygame surface (on the UI thread)."""
    if rgb is None:
        return None
    import numpy

    height, width = rgb.shape[:2]
    return pygame.image.frombytes(numpy.ascontiguousarray(rgb).tobytes(), (width, height), "RGB")
