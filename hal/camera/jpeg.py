"""JPEG encoding in memory with OpenCV (libjpeg-turbo), for the backends that do not encode themselves."""

from __future__ import annotations

import numpy

from hal.errors import DeviceError
from hal.opencv import cv2


def encode_bgr(bgr: numpy.ndarray, quality: int) -> bytes:
    """Encode an ``H x W x 3`` BGR uint8 picture as JPEG bytes without touching the disk.

    Raises:
        DeviceError: OpenCV could not encode the picture (an empty or malformed frame).
    """
    ok, buffer = cv2.imencode(".jpg", bgr, [cv2.IMWRITE_JPEG_QUALITY, int(quality)])
    if not ok:
        raise DeviceError("camera picture could not be encoded as JPEG")
    return buffer.tobytes()


def encode_rgb(rgb: numpy.ndarray, quality: int) -> bytes:
    """Encode an ``H x W x 3`` RGB uint8 picture as JPEG bytes without touching the disk."""
    return encode_bgr(cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR), quality)
