"""A stand-in for the ``picamera2`` package, for testing the picamera2 backend off the Pi.

It mirrors the parts of picamera2's documented API the backend uses, with picamera2's own
behaviour where it matters (read from raspberrypi/picamera2, ``picamera2/picamera2.py`` and
``picamera2/job.py``):

- ``Picamera2.global_camera_info()`` lists the cameras; the constructor indexes that list, so it
  raises ``IndexError`` when it is empty, and ``RuntimeError("Camera __init__ sequence did not
  complete.")`` when the camera cannot be acquired;
- captures are jobs: with ``wait=<seconds>`` the caller waits on a ``concurrent.futures.Future``
  and gets ``TimeoutError`` if the camera delivers nothing in time (the job stays queued);
  ``cancel_all_and_flush()`` fails every queued job with ``CancelledError``;
- a camera that is not started delivers nothing (its captures wait); ``configure`` refuses a
  started camera;
- ``XBGR8888`` arrays are ``H x W x 4`` with bytes R, G, B, 255; ``BGR888`` arrays are R, G, B;
  JPEG files are written at ``options["quality"]`` (picamera2 uses PIL; the fake uses OpenCV's encoder
  so that the tests need no extra package).

A test drives the "hardware" through :data:`rig` (install with a fixture, reset between tests).
Unlike the real library, a capture that could never finish made *without* a timeout raises
``AssertionError`` instead of blocking the test run for ever: that is the bug it exists to catch.
"""

from __future__ import annotations

import threading
import time
from concurrent.futures import CancelledError, Future
from dataclasses import dataclass, field
from typing import Any

import cv2
import numpy


def _gradient(width: int = 640, height: int = 480) -> numpy.ndarray:
    picture = numpy.zeros((height, width, 3), numpy.uint8)
    picture[..., 0] = numpy.linspace(0, 255, width, dtype=numpy.uint8)[None, :]
    picture[..., 1] = numpy.linspace(0, 255, height, dtype=numpy.uint8)[:, None]
    picture[..., 2] = 90
    return picture


@dataclass
class Rig:
    """The hardware behind the fake: what a test switches on and what it can inspect."""

    #: What ``global_camera_info()`` returns; empty = no camera attached.
    cameras: list[dict[str, Any]] = field(
        default_factory=lambda: [
            {"Model": "imx708", "Location": 2, "Rotation": 180, "Id": "/base/imx708@1a", "Num": 0}
        ]
    )
    #: The camera is there but cannot be acquired (in use by another process).
    refuse_acquire: bool = False
    #: The camera stops delivering frames (cable slipped): captures wait until their timeout.
    hung: bool = False
    #: ``start()`` raises RuntimeError (a broken sensor or pipeline).
    refuse_start: bool = False
    #: Seconds between two frames of the sensor: a capture of the next frame takes this long.
    frame_period: float = 0.005
    #: What the sensor sees, RGB; scaled to each stream's size.
    picture: numpy.ndarray = field(default_factory=_gradient)
    #: Every Picamera2 object made, in order.
    instances: list[Picamera2] = field(default_factory=list)


rig = Rig()


def reset() -> Rig:
    """Put the rig back to one working camera and return it."""
    global rig
    rig = Rig()
    return rig


class Picamera2:
    """The fake camera object; see the module docstring for what it mirrors."""

    @staticmethod
    def global_camera_info() -> list[dict[str, Any]]:
        return [dict(camera) for camera in rig.cameras]

    def __init__(
        self, camera_num: int = 0, verbose_console: Any = None, tuning: Any = None, allocator: Any = None
    ):
        # Like the real constructor, which reads global_camera_info()[camera_num]['Num'].
        self.camera_idx = self.global_camera_info()[camera_num]["Num"]
        if rig.refuse_acquire:
            raise RuntimeError("Camera __init__ sequence did not complete.")
        self.is_open = True
        self.started = False
        self.camera_config: dict[str, Any] | None = None
        self.options: dict[str, Any] = {}
        self.camera_controls = {
            "FrameDurationLimits": (33333, 120000, 33333),
            "ExposureTime": (1, 66666, 20000),
        }
        self.sensor_resolution = (4608, 2592)
        self.lock = threading.Lock()
        self._job_list: list[Future] = []
        #: What the backend asked for, for the tests: (method name, keyword arguments).
        self.calls: list[tuple[str, dict[str, Any]]] = []
        self.cancel_all_and_flush_count = 0
        self.stop_count = 0
        rig.instances.append(self)

    # -- configurations -------------------------------------------------------------------------
    def _stream(self, defaults: dict[str, Any], updates: dict[str, Any] | None) -> dict[str, Any] | None:
        if updates is None:
            return None
        for key in updates:
            if key not in ("format", "size", "stride", "preserve_ar"):
                raise ValueError(
                    f"Bad key {key!r}: valid stream configuration keys are format, size, stride, preserve_ar"
                )
        return {**defaults, **updates}

    # The real methods take dicts as defaults ({}); None here, with the same meaning.
    def create_preview_configuration(
        self,
        main=None,
        lores=None,
        raw=None,
        transform=None,
        colour_space=None,
        buffer_count=4,
        controls=None,
        display="main",
        encode="main",
        queue=True,
        sensor=None,
        use_case="preview",
    ) -> dict[str, Any]:
        if not self.is_open:
            raise RuntimeError("Camera not opened")
        main, raw, controls = main or {}, raw or {}, controls or {}
        self._check_controls(controls)
        stream = self._stream({"format": "XBGR8888", "size": (640, 480), "preserve_ar": True}, main)
        return {
            "use_case": use_case,
            "buffer_count": buffer_count,
            "queue": queue,
            "main": stream,
            "lores": lores,
            "raw": raw,
            "controls": dict(controls),
            "display": display,
            "encode": encode,
        }

    def create_still_configuration(
        self,
        main=None,
        lores=None,
        raw=None,
        transform=None,
        colour_space=None,
        buffer_count=1,
        controls=None,
        display=None,
        encode=None,
        queue=True,
        sensor=None,
        use_case="still",
    ) -> dict[str, Any]:
        if not self.is_open:
            raise RuntimeError("Camera not opened")
        main, raw, controls = main or {}, raw or {}, controls or {}
        self._check_controls(controls)
        stream = self._stream({"format": "BGR888", "size": self.sensor_resolution, "preserve_ar": True}, main)
        return {
            "use_case": use_case,
            "buffer_count": buffer_count,
            "queue": queue,
            "main": stream,
            "lores": lores,
            "raw": raw,
            "controls": dict(controls),
            "display": display,
            "encode": encode,
        }

    def _check_controls(self, controls: dict[str, Any]) -> None:
        for name in controls:
            if name not in self.camera_controls:
                raise RuntimeError(f"Control {name} is not advertised by libcamera")

    def configure(self, camera_config: Any = None) -> None:
        if self.started:
            raise RuntimeError("Camera must be stopped before configuring")
        if not isinstance(camera_config, dict):
            raise TypeError("the fake only takes configuration dicts")
        self.calls.append(("configure", {"camera_config": camera_config}))
        self.camera_config = dict(camera_config)

    # -- running --------------------------------------------------------------------------------
    def start(self, config: Any = None, show_preview: Any = False) -> None:
        if config is not None:
            self.configure(config)
        if self.camera_config is None:
            raise RuntimeError("Camera has not been configured")
        if rig.refuse_start:
            raise RuntimeError("Failed to start camera: Device or resource busy")
        self.calls.append(("start", {"show_preview": show_preview}))
        self.started = True

    def stop(self) -> None:
        self.stop_count += 1
        self.started = False

    def close(self) -> None:
        self.stop()
        self.is_open = False

    def cancel_all_and_flush(self) -> None:
        self.cancel_all_and_flush_count += 1
        with self.lock:
            jobs, self._job_list = self._job_list, []
        for job in jobs:
            if not job.done():
                job.set_exception(CancelledError())

    # -- captures -------------------------------------------------------------------------------
    def capture_array(
        self, name: str = "main", wait: Any = None, signal_function: Any = None
    ) -> numpy.ndarray:
        self.calls.append(("capture_array", {"name": name, "wait": wait}))
        return self._dispatch(lambda: self._array(self.camera_config, name), wait)

    def capture_file(
        self,
        file_output: Any,
        name: str = "main",
        format: Any = None,
        wait: Any = None,
        signal_function: Any = None,
        exif_data: Any = None,
    ) -> dict[str, Any]:
        self.calls.append(("capture_file", {"name": name, "format": format, "wait": wait}))
        return self._dispatch(lambda: self._save(self.camera_config, name, file_output, format), wait)

    def switch_mode_and_capture_file(
        self,
        camera_config: dict[str, Any],
        file_output: Any,
        name: str = "main",
        format: Any = None,
        wait: Any = None,
        signal_function: Any = None,
        exif_data: Any = None,
        delay: int = 0,
    ) -> dict[str, Any]:
        self.calls.append(
            ("switch_mode_and_capture_file", {"camera_config": camera_config, "format": format, "wait": wait})
        )
        return self._dispatch(lambda: self._save(camera_config, name, file_output, format), wait)

    def _dispatch(self, produce: Any, wait: Any) -> Any:
        job: Future = Future()
        job.set_running_or_notify_cancel()
        if self.started and not rig.hung:
            # The sensor's frame time: a real capture waits for the next frame.
            time.sleep(rig.frame_period)
            job.set_result(produce())
        else:
            with self.lock:
                self._job_list.append(job)
        if wait is None or wait is True:
            if not job.done():
                raise AssertionError(
                    "fake picamera2: a capture that cannot finish was made without wait=<timeout>"
                )
            return job.result()
        if wait is False:
            return job
        return job.result(timeout=wait)  # TimeoutError when the camera delivers nothing, like Job.get_result

    def _array(self, config: dict[str, Any] | None, name: str) -> numpy.ndarray:
        assert config is not None
        stream = config[name]
        width, height = stream["size"]
        rgb = cv2.resize(rig.picture, (width, height), interpolation=cv2.INTER_AREA)
        if stream["format"] == "XBGR8888":
            return numpy.dstack([rgb, numpy.full((height, width), 255, numpy.uint8)])
        if stream["format"] == "BGR888":
            return rgb
        if stream["format"] == "RGB888":
            return rgb[..., ::-1].copy()
        raise RuntimeError(f"the fake does not render {stream['format']}")

    def _save(self, config: dict[str, Any], name: str, file_output: Any, format: Any) -> dict[str, Any]:
        if str(format).lower() not in ("jpg", "jpeg"):
            raise ValueError(f"the fake writes JPEG only, not {format!r}")
        rgb = numpy.ascontiguousarray(self._array(config, name)[..., :3])
        quality = [cv2.IMWRITE_JPEG_QUALITY, self.options.get("quality", 90)]
        ok, jpeg = cv2.imencode(".jpg", cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR), quality)
        assert ok
        file_output.write(jpeg.tobytes())
        return {"SensorTimestamp": 0, "ExposureTime": 20000}
