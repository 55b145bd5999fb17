"""Pictures the simulated camera shows; see README.md for their origin and licence (public domain)."""

from __future__ import annotations

from importlib.resources import files

#: The bundled face: NASA's public-domain portrait of astronaut Eileen Collins (512 x 512).
ASTRONAUT = "astronaut.png"
#: Where the face is in :data:`ASTRONAUT`, as ``(x, y, width, height)`` in pixels: the box OpenCV's
#: frontal-face Haar cascade finds, so the simulator can frame the face as a kiosk camera would.
ASTRONAUT_FACE_BOX = (177, 66, 95, 95)


def read_bytes(name: str) -> bytes:
    """Return the bytes of a bundled picture (works from a wheel or a source tree alike)."""
    return files(__name__).joinpath(name).read_bytes()
