"""What the simulated camera sees: a framed face picture or a moving test pattern.

A scene renders the picture for frame number ``seq`` at any size, so the preview and a still taken at
the same moment show the same thing. Rendering depends only on ``seq``, never on the clock, so tests
get the same pixels on every run.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Protocol

import numpy

from hal.camera import faces
from hal.opencv import cv2

Size = tuple[int, int]


class Scene(Protocol):
    """Something the simulated camera can film."""

    def render(self, seq: int, size: Size) -> numpy.ndarray:
        """Return frame ``seq`` as an ``H x W x 3`` RGB uint8 array of ``size = (width, height)``."""
        ...


class FaceScene:
    """A still picture filmed as a kiosk camera sees a citizen: face centred, large, swaying gently.

    Args:
        picture: ``H x W x 3`` RGB uint8 picture.
        face_box: ``(x, y, w, h)`` of the face in ``picture``; the view is framed around it so that
            the face takes ``face_width`` of the frame's width. None shows the whole picture.
        face_width: Share of the frame's width the face takes (0.3 is a citizen at arm's length).
        sway: Largest sideways movement, as a share of the view's width; a person standing still
            still moves a little, and a frozen picture would hide a frozen camera.
    """

    def __init__(
        self,
        picture: numpy.ndarray,
        face_box: tuple[int, int, int, int] | None = None,
        *,
        face_width: float = 0.3,
        sway: float = 0.01,
    ) -> None:
        if picture.ndim != 3 or picture.shape[2] != 3 or picture.dtype != numpy.uint8:
            raise ValueError("a face scene needs an H x W x 3 uint8 RGB picture")
        self.picture = picture
        height, width = picture.shape[:2]
        if face_box is None:
            self._centre = (width / 2, height / 2)
            self._view_width = float(width)
        else:
            x, y, w, h = face_box
            self._centre = (x + w / 2, y + h / 2)
            self._view_width = w / face_width
        self._sway = sway

    @classmethod
    def astronaut(cls) -> FaceScene:
        """The bundled public-domain face (see ``hal/camera/faces/README.md``)."""
        picture = _decode(faces.read_bytes(faces.ASTRONAUT), faces.ASTRONAUT)
        return cls(picture, faces.ASTRONAUT_FACE_BOX)

    @classmethod
    def from_file(cls, path: str | Path) -> FaceScene:
        """A picture from a file (PNG, JPEG, ...), shown whole.

        Raises:
            ValueError: The file is missing or is not a picture OpenCV can read.
        """
        try:
            data = Path(path).expanduser().read_bytes()
        except OSError as exc:
            raise ValueError(f"cannot read the picture {path}: {exc.strerror or exc}") from exc
        return cls(_decode(data, str(path)))

    def render(self, seq: int, size: Size) -> numpy.ndarray:
        """Return frame ``seq`` at ``size``; see :class:`Scene`."""
        out_w, out_h = size
        view_w = self._view_width
        # Fill the frame's aspect ratio around the face, as a camera would.
        view_h = view_w * out_h / out_w
        scale = out_w / view_w
        cx, cy = self._centre
        # Two slow sines at unrelated periods make an unhurried, never-repeating sway.
        cx += self._sway * view_w * math.sin(seq * 2 * math.pi / 75)
        cy += 0.5 * self._sway * view_w * math.sin(seq * 2 * math.pi / 110)
        left, top = cx - view_w / 2, cy - view_h / 2
        matrix = numpy.float32([[scale, 0, -left * scale], [0, scale, -top * scale]])
        return cv2.warpAffine(
            self.picture, matrix, (out_w, out_h), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE
        )


class TestPatternScene:
    """A slowly moving pattern with no face: a colour gradient, a grid and a drifting disc.

    Useful to see that frames flow (the disc moves) and to test the "no face" path.
    """

    __test__ = False  # not a pytest test class, despite the name

    def render(self, seq: int, size: Size) -> numpy.ndarray:
        """Return frame ``seq`` at ``size``; see :class:`Scene`."""
        width, height = size
        xs = numpy.linspace(0, 255, width, dtype=numpy.float32)
        ys = numpy.linspace(0, 255, height, dtype=numpy.float32)
        picture = numpy.empty((height, width, 3), numpy.uint8)
        picture[..., 0] = xs[None, :]
        picture[..., 1] = ys[:, None]
        picture[..., 2] = 128
        step = max(8, width // 16)
        picture[::step, :] = 255
        picture[:, ::step] = 255
        centre = (
            int(width / 2 + width / 4 * math.cos(seq * 2 * math.pi / 90)),
            int(height / 2 + height / 4 * math.sin(seq * 2 * math.pi / 90)),
        )
        cv2.circle(picture, centre, max(4, min(width, height) // 8), (250, 250, 40), thickness=-1)
        return picture


def _decode(data: bytes, name: str) -> numpy.ndarray:
    bgr = cv2.imdecode(numpy.frombuffer(data, numpy.uint8), cv2.IMREAD_COLOR)
    if bgr is None:
        raise ValueError(f"{name} is not a picture OpenCV can read")
    return cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)
