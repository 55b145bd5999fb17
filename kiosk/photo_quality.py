"""Is this a usable face photo? ISO/ICAO-style checks on a camera frame, for live guidance.

:func:`assess_photo` is a pure function: one face, centred, neither too far nor too close, sharp and
well exposed. It returns problem *codes* (:class:`PhotoProblem`), never sentences: the UI turns them
into the citizen's language ("move closer", "too dark"). :class:`PhotoQualityWorker` runs it a few
times a second on the camera's newest preview frame, off the UI thread.

Faces are found with OpenCV 4's frontal-face Haar cascade (``cv2.data.haarcascades``; OpenCV 5 no
longer ships the cascades in its wheel). OpenCV is imported at the first analysis, not with this module: the
kiosk process uses the types and the worker, and runs the analysis itself in a child process
(:mod:`kiosk.face_check`), so that OpenCV's 70 MB never enter it. Detection runs on a copy scaled down to
``rules.detect_width`` pixels wide, which keeps one analysis to a few tens of milliseconds on a Pi;
sharpness and exposure are then measured on the face in the full frame.

The default thresholds were measured on the bundled public-domain test face framed as a kiosk
camera sees it (face 30 % of the frame's width) and on darkened, brightened, blurred, shifted and
shrunk copies of it; ``scripts/bench_photo_quality.py`` prints the time per analysis.
"""

from __future__ import annotations

import enum
import importlib
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy

if TYPE_CHECKING:
    import cv2

    from hal.camera import Camera

__all__ = [
    "FaceCheckFailed",
    "FaceCheckUnavailable",
    "PhotoAssessment",
    "PhotoProblem",
    "PhotoQualityWorker",
    "PhotoRules",
    "assess_photo",
    "load_face_detector",
]

_log = logging.getLogger(__name__)

CASCADE_FILE = "haarcascade_frontalface_default.xml"

Box = tuple[int, int, int, int]


class PhotoProblem(enum.StrEnum):
    """What is wrong with a face photo, as a code the UI translates for the citizen."""

    NO_FACE = "no_face"
    SEVERAL_FACES = "several_faces"
    OFF_CENTRE = "off_centre"
    TOO_FAR = "too_far"
    TOO_CLOSE = "too_close"
    BLURRY = "blurry"
    TOO_DARK = "too_dark"
    TOO_BRIGHT = "too_bright"


@dataclass(frozen=True)
class PhotoRules:
    """Thresholds of the checks; the defaults suit a kiosk camera at arm's length.

    Sizes and offsets are shares of the frame so that they hold at any resolution.
    """

    #: Narrowest face box, as a share of the frame's width (narrower: the citizen is too far).
    min_face_width: float = 0.20
    #: Widest face box (wider: too close; the head and shoulders would not fit the photo).
    max_face_width: float = 0.50
    #: Largest distance of the face's centre from the frame's centre, as a share of width / height.
    max_offset_x: float = 0.15
    max_offset_y: float = 0.20
    #: Lowest sharpness (variance of the face's Laplacian over the face's own variance, x 100: a
    #: measure of detail that does not depend on light or face size). Sharp faces score 4 to 8;
    #: a blur of 1.5 px in a 640 x 480 frame brings it under 1.5.
    min_sharpness: float = 1.5
    #: Mean grey level (0-255) of the middle of the face below which it is too dark, above which too
    #: bright. The lower bound is deliberately low: a dark-skinned face in good light has a low mean,
    #: and must not be told "too dark"; underexposure is caught by ``min_highlight`` instead.
    min_brightness: float = 40.0
    max_brightness: float = 215.0
    #: The face's highlights (95th percentile of its grey levels: forehead, nose, eyes) must reach this
    #: level. Light on any skin leaves highlights; an underexposed picture has none, whatever the skin.
    min_highlight: float = 110.0
    #: Largest share of the face that may be blown out to white (>= 250).
    max_clipped: float = 0.20
    #: A second face counts only if it is at least this share of the largest face's width: a
    #: citizen waiting far behind, or a pattern on a shirt mistaken for a face, is no second sitter.
    other_face_ratio: float = 0.6
    #: Width in pixels of the copy faces are searched in.
    detect_width: int = 320
    #: Haar cascade search: step between scales and neighbours needed to accept a face (higher
    #: values find fewer false faces and run faster; these held up best on the test pictures).
    scale_factor: float = 1.15
    min_neighbors: int = 6
    #: Smallest face searched for, as a share of the frame's width (below min_face_width, so that a
    #: far-away citizen is told "move closer" rather than "no face").
    min_search_width: float = 0.10

    def __post_init__(self) -> None:
        if not 0 < self.min_face_width < self.max_face_width <= 1:
            raise ValueError("need 0 < min_face_width < max_face_width <= 1")
        if not 0 < self.min_search_width <= self.min_face_width:
            raise ValueError("need 0 < min_search_width <= min_face_width")
        if not 0 <= self.min_brightness < self.max_brightness <= 255:
            raise ValueError("need 0 <= min_brightness < max_brightness <= 255")
        if self.detect_width < 64 or self.scale_factor <= 1 or self.min_neighbors < 1:
            raise ValueError("need detect_width >= 64, scale_factor > 1 and min_neighbors >= 1")


DEFAULT_RULES = PhotoRules()


@dataclass(frozen=True)
class PhotoAssessment:
    """The verdict on one frame.

    Attributes:
        problems: What is wrong, most important first (tell the citizen ``problems[0]``): finding
            the one face, then position, then light, then sharpness (blur often follows from the
            others). Empty when the photo is good.
        face: ``(x, y, width, height)`` of the face in the frame's pixels (the largest face when there
            are several), or None when there is none. The UI may draw it or derive a direction.
        sharpness: Detail in the face (see :attr:`PhotoRules.min_sharpness`); 0 without a face.
        brightness: Mean grey level 0-255 of the face, or of the whole frame without a face.
    """

    problems: tuple[PhotoProblem, ...]
    face: Box | None
    sharpness: float
    brightness: float

    @property
    def ok(self) -> bool:
        """True when the photo has no problem."""
        return not self.problems


def assess_photo(rgb: numpy.ndarray, rules: PhotoRules = DEFAULT_RULES) -> PhotoAssessment:
    """Check a frame as a face photo.

    Args:
        rgb: ``H x W x 3`` uint8 picture in RGB order (a :class:`hal.camera.Frame`'s ``rgb``).
        rules: Thresholds; the defaults suit a kiosk.

    Returns:
        The assessment; pure, so the same frame always gives the same verdict.

    Raises:
        ValueError: ``rgb`` is not an ``H x W x 3`` uint8 picture.
        RuntimeError: OpenCV's Haar cascade is missing (an OpenCV 5 wheel).
    """
    if not isinstance(rgb, numpy.ndarray) or rgb.ndim != 3 or rgb.shape[2] != 3 or rgb.dtype != numpy.uint8:
        raise ValueError("assess_photo needs an H x W x 3 uint8 RGB picture")
    height, width = rgb.shape[:2]
    if height < 16 or width < 16:
        raise ValueError("assess_photo needs a picture of at least 16 x 16 pixels")
    from hal.opencv import cv2

    grey = cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY)
    faces = _find_faces(grey, rules)
    if not faces:
        brightness, highlight, _ = _exposure(grey)
        problems = [PhotoProblem.NO_FACE]
        # A dark room or a covered lens is worth saying: it is why no face is found.
        if brightness < rules.min_brightness or highlight < rules.min_highlight:
            problems.append(PhotoProblem.TOO_DARK)
        elif brightness > rules.max_brightness:
            problems.append(PhotoProblem.TOO_BRIGHT)
        return PhotoAssessment(tuple(problems), None, 0.0, brightness)

    face = max(faces, key=lambda box: box[2] * box[3])
    x, y, w, h = face
    problems = []
    if any(other is not face and other[2] >= rules.other_face_ratio * w for other in faces):
        problems.append(PhotoProblem.SEVERAL_FACES)
    offset_x = abs(x + w / 2 - width / 2) / width
    offset_y = abs(y + h / 2 - height / 2) / height
    if offset_x > rules.max_offset_x or offset_y > rules.max_offset_y:
        problems.append(PhotoProblem.OFF_CENTRE)
    if w < rules.min_face_width * width:
        problems.append(PhotoProblem.TOO_FAR)
    elif w > rules.max_face_width * width:
        problems.append(PhotoProblem.TOO_CLOSE)

    brightness, highlight, clipped = _exposure(grey[y : y + h, x : x + w])
    if brightness < rules.min_brightness or highlight < rules.min_highlight:
        problems.append(PhotoProblem.TOO_DARK)
    elif brightness > rules.max_brightness or clipped > rules.max_clipped:
        problems.append(PhotoProblem.TOO_BRIGHT)
    sharpness = _sharpness(grey[y : y + h, x : x + w])
    if sharpness < rules.min_sharpness:
        problems.append(PhotoProblem.BLURRY)
    return PhotoAssessment(tuple(problems), face, sharpness, brightness)


# -- measurements ----------------------------------------------------------------------------------
_cascades = threading.local()


def load_face_detector() -> None:
    """Import OpenCV and load the Haar cascade now, so that the first :func:`assess_photo` is quick.

    Raises:
        RuntimeError: OpenCV's Haar cascade is missing (an OpenCV 5 wheel).
    """
    _cascade()


def _cascade() -> cv2.CascadeClassifier:
    # One classifier per thread: OpenCV does not promise that detectMultiScale is safe to call
    # on one classifier from two threads at once (the worker and a benchmark or a test).
    from hal.opencv import cv2

    classifier = getattr(_cascades, "classifier", None)
    if classifier is None:
        # Imported by name, not read as ``cv2.data``: cv2's bootstrap attaches its submodules as it goes,
        # so a thread that finds cv2 while another (the warm-up) is still importing it may see no ``data``.
        try:
            folder = importlib.import_module("cv2.data").haarcascades
        except (ImportError, AttributeError):
            folder = None
        classifier = cv2.CascadeClassifier(folder + CASCADE_FILE) if folder else None
        if classifier is None or classifier.empty():
            raise RuntimeError(
                f"OpenCV's {CASCADE_FILE} is missing: the face check needs opencv-python-headless 4.x"
            )
        _cascades.classifier = classifier
    return classifier


def _find_faces(grey: numpy.ndarray, rules: PhotoRules) -> list[Box]:
    from hal.opencv import cv2

    height, width = grey.shape
    scale = min(1.0, rules.detect_width / width)
    small = grey
    if scale < 1.0:
        small = cv2.resize(
            grey, (rules.detect_width, max(1, round(height * scale))), interpolation=cv2.INTER_AREA
        )
    # Equalising lets the cascade find a face in a dark or washed-out frame, so that the citizen
    # hears "too dark" rather than "no face"; exposure is then measured on the original pixels.
    small = cv2.equalizeHist(small)
    min_side = max(24, round(rules.min_search_width * small.shape[1]))
    found = _cascade().detectMultiScale(
        small, scaleFactor=rules.scale_factor, minNeighbors=rules.min_neighbors, minSize=(min_side, min_side)
    )
    boxes: list[Box] = []
    for bx, by, bw, bh in found:
        x0, y0 = max(0, round(bx / scale)), max(0, round(by / scale))
        x1, y1 = min(width, round((bx + bw) / scale)), min(height, round((by + bh) / scale))
        if x1 - x0 >= 8 and y1 - y0 >= 8:
            boxes.append((x0, y0, x1 - x0, y1 - y0))
    return boxes


def _exposure(face: numpy.ndarray) -> tuple[float, float, float]:
    """Mean and 95th-percentile grey level of the middle of the face, and the share blown out to white."""
    h, w = face.shape
    # The middle 60 % is skin; the box's edges hold hair and background.
    middle = face[int(h * 0.2) : int(h * 0.8), int(w * 0.2) : int(w * 0.8)]
    if middle.size == 0:
        middle = face
    highlight = float(numpy.percentile(middle, 95))
    return float(middle.mean()), highlight, float(numpy.count_nonzero(face >= 250)) / face.size


def _sharpness(face: numpy.ndarray) -> float:
    """Variance of the Laplacian over the face's own variance (x 100), on the face scaled to 128 px."""
    from hal.opencv import cv2

    side = 128
    interpolation = cv2.INTER_AREA if face.shape[1] > side else cv2.INTER_LINEAR
    patch = cv2.resize(face, (side, side), interpolation=interpolation).astype(numpy.float32)
    contrast = float(patch.var())
    if contrast < 1.0:  # a flat patch has no detail at all
        return 0.0
    return float(cv2.Laplacian(patch, cv2.CV_32F).var()) / contrast * 100.0


# -- running it beside the camera ------------------------------------------------------------------
class FaceCheckFailed(RuntimeError):
    """The face check gave no answer for a frame: its process stopped, hung, or was closed meanwhile."""


class FaceCheckUnavailable(FaceCheckFailed):
    """The face check cannot run again before the next citizen (its process failed too often)."""


class PhotoQualityWorker:
    """Assess the camera's newest preview frame a few times a second, on a thread of its own.

    ``on_result(assessment, frame_seq)`` is called on the worker's thread: it must be quick and
    thread-safe, typically posting an event to the main loop's queue. A frame is assessed once; if
    the camera has no new frame the worker waits for the next tick.

    Args:
        camera: The camera whose :meth:`~hal.camera.Camera.latest_frame` is read.
        on_result: Called with each new assessment and the sequence number of its frame.
        rate_hz: Assessments per second at most.
        assess: The assessment function; default :func:`assess_photo` in this process. The kiosk passes
            :meth:`kiosk.face_check.FaceCheckProcess.assess`, which runs it in a child process. An
            assessment that raises is logged and the next frame tried; one that raises
            :class:`FaceCheckUnavailable` ends the worker (the photo step goes on without guidance).
        on_stop: Called once the worker has stopped (the child process is released there).
    """

    def __init__(
        self,
        camera: Camera,
        on_result: Callable[[PhotoAssessment, int], None],
        rate_hz: float = 4.0,
        *,
        assess: Callable[[numpy.ndarray], PhotoAssessment] = assess_photo,
        on_stop: Callable[[], object] | None = None,
    ) -> None:
        if rate_hz <= 0:
            raise ValueError("rate_hz must be positive")
        self._camera = camera
        self._on_result = on_result
        self._interval = 1.0 / rate_hz
        self._assess = assess
        self._on_stop = on_stop
        self._last_seq: int | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    @property
    def running(self) -> bool:
        """True while the worker thread runs."""
        thread = self._thread
        return thread is not None and thread.is_alive()

    def start(self) -> None:
        """Start assessing in the background; does nothing if already running."""
        with self._lock:
            if self.running:
                return
            self._stop = threading.Event()
            self._thread = threading.Thread(
                target=self._run, args=(self._stop,), name="photo-quality", daemon=True
            )
            self._thread.start()

    def stop(self) -> None:
        """Stop the worker and wait for the assessment in progress to end."""
        with self._lock:
            thread, self._thread = self._thread, None
            self._stop.set()
        if thread is not None:
            thread.join()
        if self._on_stop is not None:
            self._on_stop()

    def step(self) -> PhotoAssessment | None:
        """Assess the newest frame if it is new; return the assessment, or None if there was nothing new."""
        frame = self._camera.latest_frame()
        if frame is None or frame.seq == self._last_seq:
            return None
        self._last_seq = frame.seq
        assessment = self._assess(frame.rgb)
        self._on_result(assessment, frame.seq)
        return assessment

    def _run(self, stop: threading.Event) -> None:
        next_due = time.monotonic()
        while not stop.is_set():
            try:
                self.step()
            except FaceCheckUnavailable as exc:
                # Said once, not four times a second: the citizen can still take the photo without guidance.
                _log.info("face photo check stopped for this session: %s", exc)
                return
            except Exception:  # one bad frame or a failing callback must not end the guidance
                _log.exception("face photo check failed on a frame")
            # Keep a steady rate however long the analysis took, but never try to catch up.
            next_due = max(next_due + self._interval, time.monotonic())
            stop.wait(next_due - time.monotonic())
