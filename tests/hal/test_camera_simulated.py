"""The simulated camera, the shared camera behaviour it exercises, and open_camera's choices."""

from __future__ import annotations

import sys
import time
import warnings

import cv2
import numpy
import pytest

from hal.camera import Camera, Frame, blank_picture_problem, open_camera
from hal.camera.disabled import DisabledCamera
from hal.camera.scenes import FaceScene, TestPatternScene
from hal.camera.simulated import SimulatedCamera
from hal.device import HealthStatus
from hal.errors import (
    DeviceClosed,
    DeviceDisconnected,
    DeviceError,
    DeviceFallbackWarning,
    DeviceNotFound,
    DeviceTimeout,
)
from hal.events import DeviceHealthChanged
from hal.settings import CameraSettings

WAIT = 5.0  # generous upper bound for a thread to deliver; tests return as soon as it does


def make_settings(**changes) -> CameraSettings:
    values = {
        "backend": "simulated",
        "preview_size": (160, 120),
        "still_size": (320, 240),
        "capture_timeout_s": 0.5,
        "reconnect_initial_s": 0.01,
        "reconnect_max_s": 0.02,
    }
    values.update(changes)
    return CameraSettings(**values)


@pytest.fixture
def camera(events):
    with SimulatedCamera(make_settings(), events, frame_interval=0.002) as cam:
        yield cam


def decode(jpeg: bytes) -> numpy.ndarray:
    assert jpeg[:2] == b"\xff\xd8", "not a JPEG"
    picture = cv2.imdecode(numpy.frombuffer(jpeg, numpy.uint8), cv2.IMREAD_COLOR)
    assert picture is not None
    return picture


def health_events(events) -> list[tuple[str, str]]:
    return [(e.status, e.detail) for e in events.drain() if isinstance(e, DeviceHealthChanged)]


# -- frames ------------------------------------------------------------------------------------------
def test_preview_delivers_rgb_frames_in_sequence_stamped_by_the_clock(events):
    ticks = iter(range(1000, 100000))
    with SimulatedCamera(
        make_settings(), events, frame_interval=0.002, clock=lambda: float(next(ticks))
    ) as cam:
        assert cam.latest_frame() is None
        cam.start_preview()
        first = cam.wait_for_frame(0, WAIT)
        second = cam.wait_for_frame(first.seq, WAIT)
    assert isinstance(first, Frame)
    assert first.rgb.shape == (120, 160, 3) and first.rgb.dtype == numpy.uint8
    assert second.seq > first.seq >= 1
    assert second.t > first.t >= 1000.0
    with pytest.raises(ValueError):
        first.rgb[0, 0, 0] = 1  # shared with every reader, so read-only


def test_default_scene_is_a_centred_face_that_sways_gently(camera):
    camera.start_preview()
    a = camera.wait_for_frame(0, WAIT)
    b = camera.wait_for_frame(a.seq + 10, WAIT)
    difference = numpy.abs(a.rgb.astype(int) - b.rgb.astype(int)).mean()
    assert 0 < difference < 20, "frames should move, but only a little"
    assert blank_picture_problem(a.rgb) is None
    # The astronaut's skin tone sits in the middle of the frame (red above blue).
    middle = a.rgb[50:70, 70:90].reshape(-1, 3).mean(axis=0)
    assert middle[0] > middle[2] + 20


def test_still_is_a_jpeg_of_the_still_size(camera):
    still = decode(camera.capture_jpeg())
    assert still.shape == (240, 320, 3)
    assert camera.health().ok


def test_stop_preview_ends_the_worker_and_frames_stop(camera):
    camera.start_preview()
    camera.start_preview()  # a second start is harmless
    frame = camera.wait_for_frame(0, WAIT)
    camera.stop_preview()
    assert not camera.previewing
    assert camera.wait_for_frame(camera.latest_frame().seq, 0.05) is None
    assert frame.seq >= 1


# -- faults ------------------------------------------------------------------------------------------
def test_hang_times_out_the_capture_and_freezes_the_preview(events):
    with SimulatedCamera(make_settings(capture_timeout_s=5.0), events, frame_interval=0.002) as cam:
        cam.start_preview()
        cam.wait_for_frame(0, WAIT)
        cam.set_fault("hang")
        # A frame already being made may still arrive; after it, nothing.
        cam.wait_for_frame(cam.latest_frame().seq, 0.05)
        frozen = cam.latest_frame().seq
        assert cam.wait_for_frame(frozen, 0.1) is None

        started = time.monotonic()
        with pytest.raises(DeviceTimeout) as caught:
            cam.capture_jpeg(timeout=0.1)
        assert time.monotonic() - started >= 0.1
        assert isinstance(caught.value, TimeoutError)
        assert cam.health().status is HealthStatus.FAILED
        assert cam.health().detail == "camera did not answer within 0.1 s"
        assert cam.latest_frame() is None
        assert ("failed", "camera did not answer within 0.1 s") in health_events(events)
        # stop_preview wakes the hung worker instead of waiting out its 5 s timeout.
        cam.stop_preview()
        assert not cam.previewing


def test_disconnect_fails_the_camera_and_it_comes_back_when_plugged_in(camera, events):
    camera.start_preview()
    camera.wait_for_frame(0, WAIT)
    camera.set_fault("disconnect")
    with pytest.raises(DeviceDisconnected):
        camera.capture_jpeg()
    assert camera.health().status is HealthStatus.FAILED
    assert camera.health().detail == "camera disconnected"
    assert camera.latest_frame() is None

    camera.set_fault("none")
    # The preview worker reopens by itself after its back-off.
    assert camera.wait_for_frame(0, WAIT) is not None
    assert camera.health().ok
    assert health_events(events) == [("failed", "camera disconnected"), ("ok", "")]


def test_black_picture_fails_the_self_test_until_it_is_fixed(camera):
    camera.set_fault("black")
    black = decode(camera.capture_jpeg())
    assert black.max() < 10
    health = camera.self_test()
    assert (health.status, health.detail) == (HealthStatus.FAILED, "picture is black")
    # Black frames keep flowing, but they do not make the camera "ok" again...
    camera.start_preview()
    camera.wait_for_frame(0, WAIT)
    assert camera.health().detail == "picture is black"
    # ...only a passing self-test does, on a frame taken after the fault was fixed.
    camera.set_fault("none")
    assert camera.self_test().ok


def test_fault_from_the_settings_is_on_from_the_start_and_self_test_reopens(events):
    with SimulatedCamera(make_settings(simulated_fault="disconnect"), events) as cam:
        assert cam.fault == "disconnect"
        assert (cam.health().status, cam.health().detail) == (HealthStatus.FAILED, "camera disconnected")
        assert cam.self_test().status is HealthStatus.FAILED
        cam.set_fault("none")
        assert cam.self_test().ok
        assert cam.latest_frame() is not None


def test_unknown_fault_is_refused(camera):
    with pytest.raises(ValueError, match="unknown camera fault"):
        camera.set_fault("smoke")  # type: ignore[arg-type]
    assert camera.fault == "none"


# -- scenes ------------------------------------------------------------------------------------------
def test_synthetic_scene_moves_and_is_not_blank():
    settings = make_settings(simulated_image="synthetic")
    with SimulatedCamera(settings) as cam:
        assert cam.self_test().ok
    scene = TestPatternScene()
    assert not numpy.array_equal(scene.render(0, (64, 48)), scene.render(20, (64, 48)))


def test_picture_file_from_the_settings_is_filmed(tmp_path):
    picture = numpy.zeros((60, 80, 3), numpy.uint8)
    picture[:, :40] = (0, 0, 255)  # BGR red on the left
    picture[:, 40:] = (255, 0, 0)  # BGR blue on the right
    path = tmp_path / "face.png"
    cv2.imwrite(str(path), picture)
    with SimulatedCamera(make_settings(simulated_image=str(path), capture_timeout_s=1.0)) as cam:
        assert cam.self_test().ok
        rgb = cam.latest_frame().rgb
    assert rgb[60, 20, 0] > 200 and rgb[60, 20, 2] < 50  # red on the left, as RGB
    assert rgb[60, 140, 2] > 200 and rgb[60, 140, 0] < 50


def test_unreadable_picture_file_is_a_failed_camera_with_the_reason(tmp_path):
    bad = tmp_path / "not-a-picture.png"
    bad.write_text("hello")
    with SimulatedCamera(make_settings(simulated_image=str(bad))) as cam:
        assert cam.health().status is HealthStatus.FAILED
        assert cam.health().detail.startswith("no camera found: simulated picture unusable")
        with pytest.raises(DeviceNotFound):
            cam.capture_jpeg()
    with pytest.raises(ValueError, match="cannot read"):
        FaceScene.from_file(tmp_path / "missing.png")


# -- lifecycle ---------------------------------------------------------------------------------------
def test_close_is_idempotent_and_a_closed_camera_refuses_work(events):
    cam = SimulatedCamera(make_settings(), events, frame_interval=0.002)
    cam.start_preview()
    cam.wait_for_frame(0, WAIT)
    cam.close()
    cam.close()
    assert cam.closed and not cam.previewing
    assert cam.latest_frame() is None
    with pytest.raises(DeviceClosed):
        cam.capture_jpeg()
    with pytest.raises(DeviceClosed):
        cam.start_preview()
    with pytest.raises(DeviceClosed):
        cam.self_test()


def test_blank_picture_problem_names_black_and_flat_pictures():
    assert blank_picture_problem(numpy.zeros((48, 64, 3), numpy.uint8)) == "picture is black"
    assert blank_picture_problem(numpy.full((48, 64, 3), 200, numpy.uint8)) == "picture is one flat colour"
    assert blank_picture_problem(FaceScene.astronaut().render(0, (64, 48))) is None


# -- open_camera -------------------------------------------------------------------------------------
def test_open_camera_builds_the_named_backends(events):
    with open_camera(make_settings(backend="simulated"), events) as cam:
        assert isinstance(cam, SimulatedCamera) and cam.kind == "camera"
    with open_camera(make_settings(backend="none"), events) as cam:
        assert isinstance(cam, DisabledCamera)
        assert cam.health().status is HealthStatus.FAILED
        assert "turned off in the settings" in cam.health().detail
        cam.start_preview()
        assert not cam.previewing and cam.latest_frame() is None
        with pytest.raises(DeviceNotFound):
            cam.capture_jpeg()


class NoWebcam:
    """A cv2.VideoCapture stand-in for a machine without /dev/video*."""

    def __init__(self, index, *args):
        self.index = index

    def isOpened(self):  # noqa: N802 - OpenCV's name
        return False

    def release(self):
        pass


def test_auto_without_any_camera_falls_back_to_the_simulator_with_a_warning(monkeypatch, events):
    monkeypatch.setitem(sys.modules, "picamera2", None)  # picamera2 not installed
    monkeypatch.setattr(cv2, "VideoCapture", NoWebcam)
    with pytest.warns(DeviceFallbackWarning, match="using the simulated camera") as caught:
        cam = open_camera(make_settings(backend="auto"), events)
    with cam:
        assert isinstance(cam, SimulatedCamera) and cam.health().ok
    assert "/dev/video0 does not open" in str(caught[0].message)
    # The probes that found nothing did not bother the main loop.
    assert health_events(events) == []


def test_explicit_backend_without_hardware_is_failed_not_raised(monkeypatch, events):
    monkeypatch.setitem(sys.modules, "picamera2", None)
    monkeypatch.setattr(cv2, "VideoCapture", NoWebcam)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # and no fallback warning: the technician chose this backend
        pi = open_camera(make_settings(backend="picamera2"), events)
        webcam = open_camera(make_settings(backend="opencv"), events)
    with pi, webcam:
        assert pi.health().status is HealthStatus.FAILED
        assert pi.health().detail.startswith("no camera found: picamera2 is not installed")
        assert webcam.health().detail == "no camera found: /dev/video0 does not open"
        with pytest.raises(DeviceError):
            pi.capture_jpeg()
        assert pi.self_test().status is HealthStatus.FAILED
    assert all(isinstance(c, Camera) for c in (pi, webcam))


# -- preparing ahead, forgetting after -----------------------------------------------------------------
def test_a_prepared_camera_films_the_same_scene_as_one_that_was_not(events):
    with (
        SimulatedCamera(make_settings(), events) as prepared,
        SimulatedCamera(make_settings(), events) as lazy,
    ):
        prepared.prepare()
        prepared.prepare()  # twice is harmless
        assert numpy.array_equal(decode(prepared.capture_jpeg()), decode(lazy.capture_jpeg()))


def test_forget_last_frame_drops_the_picture_once_the_preview_stopped(camera):
    camera.start_preview()
    camera.wait_for_frame(0, WAIT)
    camera.forget_last_frame()  # while previewing: kept, the photo step is using it
    assert camera.latest_frame() is not None
    camera.stop_preview()
    camera.forget_last_frame()
    assert camera.latest_frame() is None
    camera.start_preview()  # the next citizen's preview starts afresh
    assert camera.wait_for_frame(0, WAIT) is not None
    camera.stop_preview()


def test_face_scene_keeps_one_drawing_per_preview_size_and_none_of_stills():
    scene = FaceScene.astronaut()
    first, later = scene.render(0, (640, 480)), scene.render(20, (640, 480))
    assert not numpy.array_equal(first, later)  # the citizen sways: frames move
    assert first.flags.writeable and first.shape == (480, 640, 3)
    assert [canvas.shape for canvas in scene.canvases] == [(480 + 2 * 5, 640 + 2 * 8, 3)]
    still = scene.render(20, (1280, 960))  # drawn on its own, nothing kept
    assert still.shape == (960, 1280, 3) and len(scene.canvases) == 1
    # The still and the preview frame of the same moment show the same picture (scaled).
    assert abs(float(still[::2, ::2].mean()) - float(later.mean())) < 2
