"""The picamera2 backend, against a fake picamera2 module that mirrors the real one's API and failures."""

from __future__ import annotations

import sys
import warnings

import cv2
import fake_picamera2
import numpy
import pytest

from hal.camera import open_camera, picamera2_backend
from hal.camera.picamera2_backend import PiCamera
from hal.camera.simulated import SimulatedCamera
from hal.device import HealthStatus
from hal.errors import DeviceFallbackWarning, DeviceNotFound, DeviceTimeout
from hal.events import DeviceHealthChanged
from hal.settings import CameraSettings

WAIT = 5.0


def make_settings(**changes) -> CameraSettings:
    values = {
        "backend": "picamera2",
        "preview_size": (160, 120),
        "still_size": (320, 240),
        "capture_timeout_s": 0.2,
        "reconnect_initial_s": 0.01,
        "reconnect_max_s": 0.02,
        "jpeg_quality": 85,
    }
    values.update(changes)
    return CameraSettings(**values)


@pytest.fixture
def rig(monkeypatch) -> fake_picamera2.Rig:
    """Install the fake picamera2 for one test, with a fresh rig and no process camera yet."""
    monkeypatch.setitem(sys.modules, "picamera2", fake_picamera2)
    monkeypatch.setattr(picamera2_backend, "_process_camera", None)
    return fake_picamera2.reset()


def red_picture() -> numpy.ndarray:
    picture = numpy.zeros((96, 128, 3), numpy.uint8)
    picture[..., 0] = 220  # red
    picture[::8] = 255  # a few white lines, so the picture is not one flat colour
    return picture


def calls(camera_object, name: str) -> list[dict]:
    return [kwargs for method, kwargs in camera_object.calls if method == name]


# -- opening -----------------------------------------------------------------------------------------
def test_opens_the_camera_with_a_small_xbgr_preview_and_the_still_settings(rig):
    with PiCamera(make_settings()) as cam:
        assert cam.health().ok
        picam2 = rig.instances[0]
        assert picam2.started
        config = calls(picam2, "configure")[-1]["camera_config"]
        assert config["main"]["format"] == "XBGR8888"
        assert config["main"]["size"] == (160, 120)
        # 15 fps asked of the sensor, as the preview shows no more.
        assert config["controls"]["FrameDurationLimits"] == (66666, 66666)
        assert picam2.options["quality"] == 85


def test_no_camera_listed_is_a_failed_camera_and_no_picamera2_object(rig, events):
    rig.cameras.clear()
    with PiCamera(make_settings(), events) as cam:
        assert cam.health().status is HealthStatus.FAILED
        assert cam.health().detail.startswith("no camera found: libcamera lists no camera")
        assert cam.latest_frame() is None
        with pytest.raises(DeviceNotFound):
            cam.capture_jpeg()
    assert rig.instances == []
    assert not picamera2_backend.cameras_listed()
    event = events.get(timeout=0)
    assert isinstance(event, DeviceHealthChanged) and event.status == "failed"


def test_constructor_index_error_is_no_camera(rig, monkeypatch):
    # The camera vanishes between listing and opening: the real constructor then raises IndexError.
    answers = iter([[{"Id": "/base/imx708@1a", "Num": 0}]])
    monkeypatch.setattr(
        fake_picamera2.Picamera2, "global_camera_info", staticmethod(lambda: next(answers, []))
    )
    with PiCamera(make_settings()) as cam:
        assert cam.health().detail == "no camera found: libcamera lists no camera"


def test_camera_in_use_elsewhere_is_a_failed_camera_with_the_reason(rig):
    rig.refuse_acquire = True
    with PiCamera(make_settings()) as cam:
        assert cam.health().status is HealthStatus.FAILED
        assert "Camera __init__ sequence did not complete." in cam.health().detail
        # Once the other program lets go, the self-test brings the camera back.
        rig.refuse_acquire = False
        assert cam.self_test().ok


def test_camera_that_will_not_start_is_failed_and_stopped(rig):
    rig.refuse_start = True
    with PiCamera(make_settings()) as cam:
        assert cam.health().detail.startswith("no camera found: the camera would not start")
        assert rig.instances[0].stop_count >= 1


def test_one_picamera2_object_serves_the_whole_process(rig):
    with PiCamera(make_settings()) as first:
        first.capture_jpeg()
    with PiCamera(make_settings()) as second:
        second.capture_jpeg()
        assert second.self_test().ok
    assert len(rig.instances) == 1
    # Closing a device stops the camera but never closes the shared object (that would leak).
    assert rig.instances[0].is_open


# -- frames and stills -------------------------------------------------------------------------------
def test_preview_frames_are_rgb_with_the_x_channel_dropped(rig):
    rig.picture = red_picture()
    with PiCamera(make_settings()) as cam:
        cam.start_preview()
        frame = cam.wait_for_frame(0, WAIT)
        later = cam.wait_for_frame(frame.seq, WAIT)
    assert frame.rgb.shape == (120, 160, 3)
    assert numpy.median(frame.rgb[..., 0]) == 220 and numpy.median(frame.rgb[..., 2]) == 0  # red, not blue
    assert later.seq > frame.seq
    # Every capture waited with a timeout, never for ever.
    waits = [kwargs["wait"] for kwargs in calls(rig.instances[0], "capture_array")]
    assert waits and all(wait == 0.2 for wait in waits)


def test_still_is_a_full_resolution_jpeg_made_in_memory_with_a_timeout(rig):
    rig.picture = red_picture()
    with PiCamera(make_settings()) as cam:
        jpeg = cam.capture_jpeg(timeout=1.5)
    picture = cv2.imdecode(numpy.frombuffer(jpeg, numpy.uint8), cv2.IMREAD_COLOR)
    assert picture.shape == (240, 320, 3)
    assert picture[..., 2].mean() > 150  # still red (BGR when decoded)
    (call,) = calls(rig.instances[0], "switch_mode_and_capture_file")
    assert call["wait"] == 1.5 and call["format"] == "jpeg"
    assert call["camera_config"]["main"]["size"] == (320, 240)


# -- failures ----------------------------------------------------------------------------------------
def test_capture_timeout_flushes_stops_and_fails_then_self_test_recovers(rig, events):
    with PiCamera(make_settings(), events) as cam:
        picam2 = rig.instances[0]
        rig.hung = True  # the ribbon cable slipped
        with pytest.raises(DeviceTimeout):
            cam.capture_jpeg(timeout=0.05)
        assert picam2.cancel_all_and_flush_count == 1
        assert not picam2.started
        assert (cam.health().status, cam.health().detail) == (
            HealthStatus.FAILED,
            "camera did not answer within 0.05 s",
        )
        assert picam2._job_list == []  # the timed-out job was flushed

        rig.hung = False
        assert cam.self_test().ok
        assert picam2.started
    statuses = [e.status for e in events.drain() if isinstance(e, DeviceHealthChanged)]
    assert statuses == ["failed", "ok"]
    assert len(rig.instances) == 1


def test_preview_worker_fails_on_a_hang_and_reopens_when_the_camera_answers(rig, events):
    with PiCamera(make_settings(capture_timeout_s=0.05), events) as cam:
        picam2 = rig.instances[0]
        cam.start_preview()
        cam.wait_for_frame(0, WAIT)
        rig.hung = True
        # The worker's capture times out, so it flushes, stops and reports failed.
        failed = events.wait_for(DeviceHealthChanged, WAIT)
        assert (failed.status, failed.detail) == ("failed", "camera did not answer within 0.05 s")
        assert picam2.cancel_all_and_flush_count >= 1
        rig.hung = False
        assert cam.wait_for_frame(0, WAIT) is not None
        assert cam.health().ok
        assert all(kwargs["wait"] == 0.05 for kwargs in calls(picam2, "capture_array"))


def test_flush_after_a_timed_out_still_cancels_the_preview_capture_and_keeps_the_first_reason(rig, events):
    with PiCamera(make_settings(capture_timeout_s=5.0), events) as cam:
        picam2 = rig.instances[0]
        cam.start_preview()
        cam.wait_for_frame(0, WAIT)
        rig.hung = True
        # The worker is now waiting up to 5 s for its next frame; the still gives up first.
        with pytest.raises(DeviceTimeout):
            cam.capture_jpeg(timeout=0.05)
        # cancel_all_and_flush ended the worker's queued capture (CancelledError) at once.
        assert picam2.cancel_all_and_flush_count >= 1
        assert picam2._job_list == []
        cam.stop_preview()
        assert not cam.previewing
        assert cam.health().detail == "camera did not answer within 0.05 s"
    statuses = [(e.status, e.detail) for e in events.drain() if isinstance(e, DeviceHealthChanged)]
    assert statuses == [("failed", "camera did not answer within 0.05 s")]


# -- auto ----------------------------------------------------------------------------------------------
def test_auto_prefers_the_pi_camera_when_one_is_listed(rig, events):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        cam = open_camera(make_settings(backend="auto"), events)
    with cam:
        assert isinstance(cam, PiCamera) and cam.health().ok
        rig.hung = True
        with pytest.raises(DeviceTimeout):
            cam.capture_jpeg(timeout=0.01)
    # The camera kept by auto reports to the main loop.
    assert any(isinstance(e, DeviceHealthChanged) for e in events.drain())


def test_auto_with_picamera2_but_no_camera_falls_back(rig, monkeypatch):
    rig.cameras.clear()

    class NoWebcam:
        def __init__(self, index):
            pass

        def isOpened(self):  # noqa: N802 - OpenCV's name
            return False

        def release(self):
            pass

    monkeypatch.setattr(cv2, "VideoCapture", NoWebcam)
    with pytest.warns(DeviceFallbackWarning, match="no Raspberry Pi camera listed"):
        cam = open_camera(make_settings(backend="auto"))
    with cam:
        assert isinstance(cam, SimulatedCamera)
