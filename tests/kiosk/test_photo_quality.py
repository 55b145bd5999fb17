"""The face-photo quality check, on the public-domain astronaut photo and altered copies of it."""

from __future__ import annotations

import threading
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy
import pytest

from hal.camera import Frame
from hal.camera.faces import ASTRONAUT_FACE_BOX
from hal.camera.scenes import FaceScene
from hal.camera.simulated import SimulatedCamera
from hal.settings import CameraSettings
from kiosk.photo_quality import (
    PhotoAssessment,
    PhotoProblem,
    PhotoQualityWorker,
    PhotoRules,
    assess_photo,
)

ASTRONAUT = Path(__file__).resolve().parent.parent / "data" / "astronaut.png"
SIZE = (640, 480)


@pytest.fixture(scope="module")
def astronaut() -> numpy.ndarray:
    """The test photo as RGB (see tests/data/README.md: NASA, public domain)."""
    return cv2.cvtColor(cv2.imread(str(ASTRONAUT)), cv2.COLOR_BGR2RGB)


def framed(astronaut: numpy.ndarray, face_width: float = 0.3, size: tuple[int, int] = SIZE) -> numpy.ndarray:
    """The photo as a kiosk camera would see the citizen: face centred, ``face_width`` of the frame."""
    return FaceScene(astronaut, ASTRONAUT_FACE_BOX, face_width=face_width, sway=0).render(0, size)


@pytest.fixture(scope="module")
def good(astronaut) -> numpy.ndarray:
    return framed(astronaut)


def test_the_astronaut_framed_at_a_kiosk_is_a_good_photo(good):
    result = assess_photo(good)
    assert result.ok and result.problems == ()
    x, y, w, h = result.face
    assert abs(x + w / 2 - 320) < 30 and abs(y + h / 2 - 240) < 40
    assert 0.25 < w / 640 < 0.4
    assert result.sharpness > 3
    assert 120 < result.brightness < 215


def test_the_same_photo_at_full_still_resolution_is_good_too(astronaut):
    assert assess_photo(framed(astronaut, size=(1280, 960))).ok


def test_blank_picture_has_no_face(good):
    result = assess_photo(numpy.full_like(good, 128))
    assert result.problems == (PhotoProblem.NO_FACE,)
    assert result.face is None and result.sharpness == 0.0
    assert result.brightness == pytest.approx(128)


def test_black_picture_has_no_face_and_says_why(good):
    assert assess_photo(numpy.zeros_like(good)).problems == (PhotoProblem.NO_FACE, PhotoProblem.TOO_DARK)


def test_darkened_photo_is_too_dark_but_the_face_is_still_found(good):
    result = assess_photo((good * 0.3).astype(numpy.uint8))
    assert result.problems == (PhotoProblem.TOO_DARK,)
    assert result.face is not None


def test_a_darker_face_in_good_light_is_not_too_dark(good):
    # Darken the face only, keeping its highlights (a gamma curve): darker skin, well lit. Its mean
    # grey level is far below the light-skinned original, but the picture is well exposed.
    x, y, w, h = assess_photo(good).face
    darker = good.copy()
    skin = darker[y : y + h, x : x + w].astype(numpy.float32) / 255
    darker[y : y + h, x : x + w] = (255 * skin**5.5).astype(numpy.uint8)
    result = assess_photo(darker)
    assert result.brightness < 60 and result.face is not None
    assert result.ok
    # Judged by its mean alone (the naive rule), this face would be called too dark.
    naive = PhotoRules(min_brightness=70, min_highlight=1)
    assert assess_photo(darker, naive).problems == (PhotoProblem.TOO_DARK,)


def test_overexposed_photo_is_too_bright(good):
    result = assess_photo(numpy.clip(good.astype(int) * 1.6, 0, 255).astype(numpy.uint8))
    assert result.problems == (PhotoProblem.TOO_BRIGHT,)


def test_blurred_photo_is_blurry(good):
    result = assess_photo(cv2.GaussianBlur(good, (0, 0), 3))
    assert result.problems == (PhotoProblem.BLURRY,)
    assert result.sharpness < assess_photo(good).sharpness / 4


def test_shifted_photo_is_off_centre(good):
    result = assess_photo(numpy.roll(good, 200, axis=1))
    assert result.problems == (PhotoProblem.OFF_CENTRE,)
    assert result.face[0] > 320  # the face box tells the UI which way


def test_shrunk_photo_is_too_far(astronaut):
    assert assess_photo(framed(astronaut, face_width=0.13)).problems == (PhotoProblem.TOO_FAR,)


def test_zoomed_photo_is_too_close(astronaut):
    assert assess_photo(framed(astronaut, face_width=0.6)).problems == (PhotoProblem.TOO_CLOSE,)


def test_two_faces_side_by_side_are_several_faces(astronaut):
    half = framed(astronaut, size=(320, 480))
    result = assess_photo(numpy.hstack([half, half]))
    assert result.problems[0] is PhotoProblem.SEVERAL_FACES


def test_a_small_second_face_far_behind_does_not_count(astronaut):
    picture = framed(astronaut)
    picture[300:480, 400:640] = framed(astronaut, size=(240, 180))  # someone waiting in the queue
    assert assess_photo(picture).ok
    # It is found, though: counting every face, however small, would flag it.
    every_face = PhotoRules(other_face_ratio=0.2)
    assert PhotoProblem.SEVERAL_FACES in assess_photo(picture, every_face).problems


def test_problems_are_codes_for_the_ui_not_sentences():
    assert PhotoProblem.TOO_DARK == "too_dark"
    assert all(code.value.isidentifier() for code in PhotoProblem)


def test_assessment_is_pure(good):
    copy = good.copy()
    assert assess_photo(good) == assess_photo(good)
    assert numpy.array_equal(good, copy)


@pytest.mark.parametrize(
    "bad",
    [
        numpy.zeros((480, 640), numpy.uint8),
        numpy.zeros((480, 640, 4), numpy.uint8),
        numpy.zeros((480, 640, 3), numpy.float32),
        numpy.zeros((8, 8, 3), numpy.uint8),
        [[0, 0, 0]],
    ],
)
def test_bad_input_is_a_clear_value_error(bad):
    with pytest.raises(ValueError, match="assess_photo needs"):
        assess_photo(bad)  # type: ignore[arg-type]


def test_rules_are_checked_and_can_be_tightened(good):
    with pytest.raises(ValueError):
        PhotoRules(min_face_width=0.6, max_face_width=0.5)
    with pytest.raises(ValueError):
        PhotoRules(min_brightness=200, max_brightness=100)
    strict = PhotoRules(min_face_width=0.4)
    assert assess_photo(good, strict).problems == (PhotoProblem.TOO_FAR,)


# -- the worker --------------------------------------------------------------------------------------
@dataclass
class FrameSource:
    """Hands out frames as a camera's latest_frame() would."""

    frame: Frame | None = None

    def latest_frame(self) -> Frame | None:
        return self.frame


def test_step_assesses_each_new_frame_once(good):
    source = FrameSource()
    results: list[tuple[PhotoAssessment, int]] = []
    worker = PhotoQualityWorker(source, lambda result, seq: results.append((result, seq)))  # type: ignore[arg-type]
    assert worker.step() is None  # no frame yet
    source.frame = Frame(rgb=good, seq=7, t=0.0)
    assert worker.step().ok
    assert worker.step() is None  # same frame: nothing to do
    source.frame = Frame(rgb=numpy.zeros_like(good), seq=8, t=0.1)
    assert worker.step().problems[0] is PhotoProblem.NO_FACE
    assert [seq for _, seq in results] == [7, 8]


def test_worker_thread_assesses_the_camera_preview_until_stopped():
    settings = CameraSettings(backend="simulated", preview_size=(320, 240))
    done = threading.Event()
    results: list[tuple[PhotoAssessment, int]] = []

    def on_result(result: PhotoAssessment, seq: int) -> None:
        results.append((result, seq))
        if len(results) >= 2:
            done.set()

    with SimulatedCamera(settings, frame_interval=0.005) as camera:
        worker = PhotoQualityWorker(camera, on_result, rate_hz=50)
        camera.start_preview()
        worker.start()
        worker.start()  # harmless
        try:
            assert done.wait(10)
        finally:
            worker.stop()
        assert not worker.running
        count = len(results)
    assert all(result.ok for result, _ in results)
    seqs = [seq for _, seq in results]
    assert seqs == sorted(set(seqs))  # each frame once, newest first-come
    assert count == len(results)  # nothing after stop()


def test_worker_survives_a_failing_analysis(good):
    source = FrameSource(Frame(rgb=good, seq=1, t=0.0))
    calls = threading.Event()
    results: list[int] = []

    def broken(rgb: numpy.ndarray) -> PhotoAssessment:
        calls.set()
        raise RuntimeError("boom")

    worker = PhotoQualityWorker(source, lambda r, s: results.append(s), rate_hz=100, assess=broken)  # type: ignore[arg-type]
    worker.start()
    try:
        assert calls.wait(5)
    finally:
        worker.stop()
    assert results == []
    with pytest.raises(ValueError):
        PhotoQualityWorker(source, lambda r, s: None, rate_hz=0)  # type: ignore[arg-type]
