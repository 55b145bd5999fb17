"""The USB webcam backend, driven through a fake VideoCapture injected into its constructor."""

from __future__ import annotations

import threading

import cv2
import numpy
import pytest

from hal.camera.opencv_backend import OpenCVCamera
from hal.device import HealthStatus
from hal.errors import DeviceNotFound, DeviceTimeout
from hal.events import DeviceHealthChanged
from hal.settings import CameraSettings

WAIT = 5.0


def make_settings(**changes) -> CameraSettings:
    values = {
        "backend": "opencv",
        "device": 2,
        "preview_size": (160, 120),
        "still_size": (640, 480),
        "capture_timeout_s": 0.5,
        "reconnect_initial_s": 0.01,
        "reconnect_max_s": 0.02,
    }
    values.update(changes)
    return CameraSettings(**values)


class Webcam:
    """The USB webcam behind the fake VideoCaptures: plug, unplug, make it fail or hang."""

    def __init__(self) -> None:
        self.plugged = True
        self.gives_picture = True
        #: Reads that fail before reads work again (a USB hiccup).
        self.hiccups = 0
        #: While set, read() blocks until it is cleared (a webcam that stops answering).
        self.hang = threading.Event()
        self.unhang = threading.Event()
        #: Set by a read once it is blocked in the hang.
        self.hanging = threading.Event()
        self.opened: list[FakeVideoCapture] = []
        self.reads = 0
        self.frame_period = threading.Event()  # never set: read() waits a short "frame time" on it

    def video_capture(self, index: int) -> FakeVideoCapture:
        capture = FakeVideoCapture(self, index)
        self.opened.append(capture)
        return capture


class FakeVideoCapture:
    """Mirrors the cv2.VideoCapture calls the backend makes."""

    def __init__(self, webcam: Webcam, index: int) -> None:
        self.webcam = webcam
        self.index = index
        self.props: dict[int, float] = {}
        self.released = False

    def isOpened(self) -> bool:  # noqa: N802 - OpenCV's name
        return self.webcam.plugged and not self.released

    def set(self, prop: int, value: float) -> bool:
        self.props[prop] = value
        return True

    def read(self):
        webcam = self.webcam
        if webcam.hang.is_set():
            webcam.hanging.set()
            webcam.unhang.wait()
        webcam.frame_period.wait(0.002)  # the camera's frame time
        webcam.reads += 1
        if self.released or not webcam.plugged or not webcam.gives_picture:
            return False, None
        if webcam.hiccups:
            webcam.hiccups -= 1
            return False, None
        width = int(self.props.get(cv2.CAP_PROP_FRAME_WIDTH, 640))
        height = int(self.props.get(cv2.CAP_PROP_FRAME_HEIGHT, 480))
        frame = numpy.zeros((height, width, 3), numpy.uint8)
        frame[...] = (10, 20, 200)  # BGR: a red picture
        frame[::16] = 255
        return True, frame

    def release(self) -> None:
        self.released = True


@pytest.fixture
def webcam() -> Webcam:
    return Webcam()


def test_opens_the_device_at_the_still_size_with_a_short_queue(webcam):
    with OpenCVCamera(make_settings(), video_capture=webcam.video_capture) as cam:
        assert cam.health().ok
        (capture,) = webcam.opened
        assert capture.index == 2
        assert capture.props[cv2.CAP_PROP_FRAME_WIDTH] == 640
        assert capture.props[cv2.CAP_PROP_FRAME_HEIGHT] == 480
        assert capture.props[cv2.CAP_PROP_BUFFERSIZE] == 1
    assert capture.released


def test_missing_webcam_is_a_failed_camera(webcam):
    webcam.plugged = False
    with OpenCVCamera(make_settings(), video_capture=webcam.video_capture) as cam:
        assert (cam.health().status, cam.health().detail) == (
            HealthStatus.FAILED,
            "no camera found: /dev/video2 does not open",
        )
    assert webcam.opened[0].released


def test_device_that_opens_but_gives_no_picture_is_no_webcam(webcam):
    webcam.gives_picture = False
    with OpenCVCamera(make_settings(), video_capture=webcam.video_capture) as cam:
        assert cam.health().detail == "no camera found: /dev/video2 gives no picture"
    assert webcam.opened[0].released


def test_preview_is_downscaled_and_in_rgb_order(webcam):
    with OpenCVCamera(make_settings(), video_capture=webcam.video_capture) as cam:
        cam.start_preview()
        frame = cam.wait_for_frame(0, WAIT)
    assert frame.rgb.shape == (120, 160, 3)
    assert numpy.median(frame.rgb[..., 0]) == 200 and numpy.median(frame.rgb[..., 2]) == 10


def test_still_is_a_full_size_jpeg_with_or_without_preview(webcam):
    with OpenCVCamera(make_settings(), video_capture=webcam.video_capture) as cam:
        without = cam.capture_jpeg()
        cam.start_preview()
        cam.wait_for_frame(0, WAIT)
        reads_before = webcam.reads
        during = cam.capture_jpeg()
        assert webcam.reads > reads_before  # a fresh frame, not an old one
    for jpeg in (without, during):
        picture = cv2.imdecode(numpy.frombuffer(jpeg, numpy.uint8), cv2.IMREAD_COLOR)
        assert picture.shape == (480, 640, 3)
        assert numpy.median(picture[..., 2]) > 180  # red survives the BGR round trip


def test_a_single_failed_read_is_tolerated(webcam):
    with OpenCVCamera(make_settings(), video_capture=webcam.video_capture) as cam:
        webcam.hiccups = 2
        assert cam.capture_jpeg()
        assert cam.health().ok


def test_unplugged_webcam_fails_then_is_reopened_with_backoff_when_plugged_in(webcam, events):
    with OpenCVCamera(make_settings(), events, video_capture=webcam.video_capture) as cam:
        cam.start_preview()
        cam.wait_for_frame(0, WAIT)
        webcam.plugged = False
        failed = events.wait_for(DeviceHealthChanged, WAIT)
        assert (failed.status, failed.detail) == ("failed", "camera disconnected")
        assert cam.latest_frame() is None
        assert webcam.opened[0].released
        # A capture tries to reopen the webcam first, and finds no device.
        with pytest.raises(DeviceNotFound):
            cam.capture_jpeg(timeout=0.2)
        assert cam.health().detail == "camera disconnected"  # the cause stays the reason

        webcam.plugged = True
        assert cam.wait_for_frame(0, WAIT) is not None
        assert cam.health().ok
        assert len(webcam.opened) >= 2  # reopened
    statuses = [(e.status, e.detail) for e in events.drain() if isinstance(e, DeviceHealthChanged)]
    assert statuses == [("ok", "")]  # the failure, once, then back to ok


def test_still_while_the_webcam_hangs_times_out(webcam):
    with OpenCVCamera(make_settings(), video_capture=webcam.video_capture) as cam:
        cam.start_preview()
        cam.wait_for_frame(0, WAIT)
        webcam.hang.set()
        assert webcam.hanging.wait(WAIT)  # the worker is now stuck in a read
        try:
            # The still gives up although the read it waits for never returns (no lock held for ever).
            with pytest.raises(DeviceTimeout):
                cam.capture_jpeg(timeout=0.05)
            assert cam.health().detail == "camera did not answer within 0.05 s"
        finally:
            webcam.unhang.set()  # let the blocked read return so the worker can end
        webcam.hang.clear()
        # The stuck read released the capture it was abandoned with; the worker reopened the webcam.
        assert cam.wait_for_frame(0, WAIT) is not None
        assert webcam.opened[0].released and len(webcam.opened) >= 2
        assert cam.health().ok
