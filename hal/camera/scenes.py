"""What the simulated camera sees: a framed face picture or a moving test pattern.

A scene renders the picture for frame number ``seq`` at any size, so the preview and a still taken at
the same moment show the same thing. Rendering depends only on ``seq``, never on the clock, so tests
get the same pixels on every run.

Drawn with Pillow and numpy, not OpenCV: the kiosk process never loads OpenCV (the face check runs it in a
child process, :mod:`kiosk.face_check`), and the simulated camera must not bring it back in.
"""

from __future__ import annotations

import io
import math
import threading
from pathlib import Path
from typing import Protocol

import numpy
from PIL import Image, UnidentifiedImageError

from hal.camera import faces

Size = tuple[int, int]

#: Frames up to this many pixels (the preview's) are crops of a picture drawn once per size and kept; larger
#: ones (a still, once per photo) are drawn on their own and nothing of them is kept.
CANVAS_PIXELS = 1_000_000


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
        self._image = Image.fromarray(picture)
        #: The picture with its edges repeated outwards by ``(margin_x, margin_y)``, for views that reach
        #: past it (a citizen far away, a picture of another shape): made when first needed.
        self._padded: tuple[int, int, Image.Image] | None = None
        #: Per frame size, the view and all its sway drawn once at the frame's scale, and the picture
        #: coordinates of its corner: a frame is then a crop of it (see :meth:`render`).
        self._canvases: dict[Size, tuple[numpy.ndarray, tuple[float, float]]] = {}
        self._canvas_lock = threading.Lock()
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
            ValueError: The file is missing or is not a picture Pillow can read.
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
        cx, cy = self._centre
        # Two slow sines at unrelated periods make an unhurried, never-repeating sway.
        cx += self._sway * view_w * math.sin(seq * 2 * math.pi / 75)
        cy += 0.5 * self._sway * view_w * math.sin(seq * 2 * math.pi / 110)
        left, top = cx - view_w / 2, cy - view_h / 2
        if out_w * out_h > CANVAS_PIXELS:  # a still, once per photo: drawn on its own, nothing kept
            return numpy.array(self._draw(size, left, top, 0, 0))
        # A crop of the canvas (the picture drawn once at this size's scale): a fraction of a millisecond,
        # where sampling every pixel of every frame anew took 11 ms at 640 x 480 with Pillow. The sway moves
        # by whole pixels of the frame.
        canvas, (origin_x, origin_y) = self._canvas(size)
        scale = out_w / view_w
        x0, y0 = round((left - origin_x) * scale), round((top - origin_y) * scale)
        # A writable array of its own, as a camera's frame is.
        return canvas[y0 : y0 + out_h, x0 : x0 + out_w].copy()

    @property
    def canvases(self) -> tuple[numpy.ndarray, ...]:
        """The pictures drawn for the frame sizes filmed so far (the scene's own pixels, no citizen's)."""
        return tuple(canvas for canvas, _ in self._canvases.values())

    def _canvas(self, size: Size) -> tuple[numpy.ndarray, tuple[float, float]]:
        """The view at ``size``'s scale with room for the whole sway, made at the first frame of that size."""
        found = self._canvases.get(size)
        if found is None:
            # Drawn outside the lock: two threads (the warm-up's prepare and the preview) may both draw the
            # first one, which is harmless; the dictionary itself changes under the lock only.
            found = self._draw_canvas(size)
            with self._canvas_lock:
                while len(self._canvases) >= 2:  # the preview's, and one other; a third replaces the oldest
                    del self._canvases[next(iter(self._canvases))]
                self._canvases[size] = found
        return found

    def _draw_canvas(self, size: Size) -> tuple[numpy.ndarray, tuple[float, float]]:
        out_w, out_h = size
        view_w = self._view_width
        scale = out_w / view_w
        # The farthest the sway takes the view, in whole pixels of the frame (plus one for rounding): the
        # view at rest then starts on a whole pixel of the canvas, and its frames are exactly as drawn.
        reach_x = math.ceil(self._sway * view_w * scale) + 1
        reach_y = math.ceil(0.5 * self._sway * view_w * scale) + 1
        cx, cy = self._centre
        left = cx - view_w / 2 - reach_x / scale
        top = cy - view_w * out_h / out_w / 2 - reach_y / scale
        return numpy.asarray(self._draw(size, left, top, reach_x, reach_y)), (left, top)

    def _draw(self, size: Size, left: float, top: float, reach_x: int, reach_y: int) -> Image.Image:
        """The picture from ``(left, top)`` at ``size``'s scale, ``reach`` frame pixels wider on each side."""
        out_w, out_h = size
        step = self._view_width / out_w  # picture pixels per frame pixel
        width, height = out_w + 2 * reach_x, out_h + 2 * reach_y
        image, (margin_x, margin_y) = self._source(left, top, width * step, height * step)
        # Each pixel sampled bilinearly at its place in the picture (an affine map, as a lens makes; not a
        # filtered resize, whose smoothing would hide small faces from the face check's cascade). Pillow maps
        # pixel centres (x + 0.5): the shift keeps the pixels where the view's arithmetic puts them.
        shift = 0.5 - 0.5 * step
        x0, y0 = left + margin_x + shift, top + margin_y + shift
        if step < 1:
            # Enlarged (the usual case: the face fills more of the frame than of the picture): a bilinear
            # resize samples the very same points, and Pillow does it three times faster than a transform.
            box = (x0, y0, x0 + width * step, y0 + height * step)
            return image.resize((width, height), Image.Resampling.BILINEAR, box=box)
        mapping = (step, 0.0, x0, 0.0, step, y0)
        return image.transform((width, height), Image.Transform.AFFINE, mapping, Image.Resampling.BILINEAR)

    def _source(self, left: float, top: float, width: float, height: float) -> tuple[Image.Image, Size]:
        """The picture to cut the view from, and its offset: the picture itself, or it with its edges
        repeated where the view reaches past them (as a camera's border would; Pillow needs a box inside)."""
        picture_h, picture_w = self.picture.shape[:2]
        need_x = max(0, math.ceil(max(-left, left + width - picture_w)))
        need_y = max(0, math.ceil(max(-top, top + height - picture_h)))
        if not need_x and not need_y:
            return self._image, (0, 0)
        padded = self._padded
        if padded is None or padded[0] < need_x or padded[1] < need_y:
            # Rounded up, so that the sway does not make a new one every frame.
            margin_x, margin_y = -(-(need_x + 8) // 32) * 32, -(-(need_y + 8) // 32) * 32
            edges = ((margin_y, margin_y), (margin_x, margin_x), (0, 0))
            padded = (margin_x, margin_y, Image.fromarray(numpy.pad(self.picture, edges, mode="edge")))
            self._padded = padded
        return padded[2], (padded[0], padded[1])


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
        cx = int(width / 2 + width / 4 * math.cos(seq * 2 * math.pi / 90))
        cy = int(height / 2 + height / 4 * math.sin(seq * 2 * math.pi / 90))
        radius = max(4, min(width, height) // 8)
        # The disc: the pixels of its bounding square within ``radius`` of the centre.
        top, left = max(0, cy - radius), max(0, cx - radius)
        ys, xs = numpy.ogrid[top : min(height, cy + radius + 1), left : min(width, cx + radius + 1)]
        inside = (xs - cx) ** 2 + (ys - cy) ** 2 <= radius * radius
        picture[top : top + inside.shape[0], left : left + inside.shape[1]][inside] = (250, 250, 40)
        return picture


def _decode(data: bytes, name: str) -> numpy.ndarray:
    try:
        with Image.open(io.BytesIO(data)) as image:
            return numpy.asarray(image.convert("RGB"))
    except (UnidentifiedImageError, OSError, ValueError) as exc:
        raise ValueError(f"{name} is not a picture Pillow can read: {exc}") from exc
