"""JPEG encoding in memory with Pillow (libjpeg-turbo), for the backends that do not encode themselves.

Pillow, not OpenCV: the kiosk process never loads OpenCV on the simulated and picamera2 paths (the face
check runs it in a child process, :mod:`kiosk.face_check`); only the USB-webcam backend, whose driver it is,
does.
"""

from __future__ import annotations

import io

import numpy
from PIL import Image

from hal.errors import DeviceError


def encode_rgb(rgb: numpy.ndarray, quality: int) -> bytes:
    """Encode an ``H x W x 3`` RGB uint8 picture as JPEG bytes without touching the disk.

    Raises:
        DeviceError: The picture could not be encoded (an empty or malformed frame).
    """
    if not isinstance(rgb, numpy.ndarray) or rgb.ndim != 3 or rgb.shape[2] != 3 or rgb.dtype != numpy.uint8:
        raise DeviceError("camera picture could not be encoded as JPEG: not an H x W x 3 uint8 picture")
    if rgb.size == 0:
        raise DeviceError("camera picture could not be encoded as JPEG: the picture is empty")
    out = io.BytesIO()
    try:
        Image.fromarray(rgb).save(out, format="JPEG", quality=int(quality))
    except (OSError, ValueError) as exc:
        raise DeviceError(f"camera picture could not be encoded as JPEG: {exc}") from exc
    return out.getvalue()


def encode_bgr(bgr: numpy.ndarray, quality: int) -> bytes:
    """Encode an ``H x W x 3`` BGR uint8 picture (OpenCV's order) as JPEG bytes without touching the disk.

    Raises:
        DeviceError: The picture could not be encoded (an empty or malformed frame).
    """
    if not isinstance(bgr, numpy.ndarray) or bgr.ndim != 3 or bgr.shape[2] != 3:
        raise DeviceError("camera picture could not be encoded as JPEG: not an H x W x 3 picture")
    return encode_rgb(numpy.ascontiguousarray(bgr[..., ::-1]), quality)
