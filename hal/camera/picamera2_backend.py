"""The Raspberry Pi camera through picamera2 (libcamera).

picamera2 comes from apt on the Pi (``python3-picamera2``; the venv is made with
``--system-site-packages``) and cannot be installed elsewhere, so it is imported only when this
backend is used.

Three rules from picamera2's own behaviour shape this module:

- One ``Picamera2`` object for the whole life of the process. Creating and closing it again leaks
  memory until allocation fails (raspberrypi/picamera2 #958, #1130), so the object made on first use
  is kept in this module; the device only stops and restarts it.
- Every capture passes ``wait=<seconds>``: without it a camera whose cable slipped blocks the caller
  for ever. When the wait runs out picamera2 raises ``TimeoutError`` and leaves the job queued; we
  then call ``cancel_all_and_flush()`` (its documented way to tidy up after a timed-out operation)
  and ``stop()``, report the camera failed, and reopen it later.
- No camera: ``Picamera2.global_camera_info()`` is empty, and the constructor raises ``IndexError``
  (camera number out of range) or ``RuntimeError`` (camera could not be acquired).

The preview is a small ``XBGR8888`` stream, which is R, G, B, X bytes in memory: dropping the fourth
channel gives RGB without a colour conversion. Stills use ``switch_mode_and_capture_file`` with a
full-resolution still configuration, written as JPEG into a ``BytesIO`` so that the photo never
touches the disk.
"""

from __future__ import annotations

import importlib
import io
import logging
import threading
import time
from collections.abc import Callable
from concurrent.futures import CancelledError
from types import ModuleType
from typing import Any

import numpy

from hal.camera import Camera
from hal.errors import BackendUnavailable, DeviceDisconnected, DeviceError, DeviceNotFound, DeviceTimeout
from hal.events import EventQueue
from hal.settings import CameraSettings

_log = logging.getLogger(__name__)

# The one Picamera2 object of this process, made on first use and never closed by us (see above).
# picamera2 registers its own atexit handler that closes it when the process ends.
_process_lock = threading.Lock()
_process_camera: Any = None


def _import_picamera2() -> ModuleType:
    try:
        return importlib.import_module("picamera2")
    except ImportError as exc:
        raise BackendUnavailable(
            "no camera found: picamera2 is not installed (on a Pi: apt install python3-picamera2)"
        ) from exc


def cameras_listed() -> bool:
    """Return True if picamera2 is installed and libcamera lists at least one camera."""
    try:
        module = _import_picamera2()
    except BackendUnavailable:
        return False
    try:
        return bool(module.Picamera2.global_camera_info())
    except Exception:  # libcamera itself failing to start means no usable camera either
        _log.exception("picamera2 could not list cameras")
        return False


def process_picamera2() -> Any:
    """Return this process's one ``Picamera2`` object, making it on first use.

    Raises:
        BackendUnavailable: picamera2 is not installed.
        DeviceNotFound: libcamera lists no camera, or the camera cannot be acquired.
    """
    global _process_camera
    with _process_lock:
        if _process_camera is not None:
            return _process_camera
        module = _import_picamera2()
        if not module.Picamera2.global_camera_info():
            raise DeviceNotFound("no camera found: libcamera lists no camera (is the ribbon cable seated?)")
        try:
            _process_camera = module.Picamera2()
        except IndexError as exc:  # the camera went away between listing and opening
            raise DeviceNotFound("no camera found: libcamera lists no camera") from exc
        except RuntimeError as exc:
            raise DeviceNotFound(
                f"no camera found: the camera would not open ({exc}); is it in use?"
            ) from exc
        return _process_camera


class PiCamera(Camera):
    """The Raspberry Pi camera (any libcamera camera) driven through picamera2.

    Args:
        settings: The ``[camera]`` settings (sizes, fps, timeout, JPEG quality).
        events: Where health changes are posted.
        clock: Monotonic clock stamped on frames.
    """

    backend = "picamera2"

    def __init__(
        self,
        settings: CameraSettings,
        events: EventQueue | None = None,
        *,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        super().__init__(settings, events, clock=clock)
        self._picam2: Any = None
        self._still_config: dict | None = None
        self._try_open()

    def _open(self) -> None:
        picam2 = process_picamera2()
        controls: dict[str, Any] = {}
        if "FrameDurationLimits" in picam2.camera_controls:
            # Ask the sensor for no more frames than the preview shows: less CPU and less heat.
            frame_us = int(1_000_000 / self.settings.preview_fps)
            controls["FrameDurationLimits"] = (frame_us, frame_us)
        try:
            # Another device object (or a failure) may have left it running; configure needs it stopped.
            picam2.stop()
            preview = picam2.create_preview_configuration(
                main={"size": tuple(self.settings.preview_size), "format": "XBGR8888"}, controls=controls
            )
            still = picam2.create_still_configuration(main={"size": tuple(self.settings.still_size)})
            picam2.configure(preview)
            picam2.options["quality"] = self.settings.jpeg_quality
            picam2.start()
        except RuntimeError as exc:
            _stop_quietly(picam2)
            raise DeviceNotFound(f"no camera found: the camera would not start ({exc})") from exc
        self._still_config = still
        self._picam2 = picam2

    def _release(self) -> None:
        picam2, self._picam2 = self._picam2, None
        if picam2 is None:
            return
        try:
            # Drop the jobs a timed-out capture left queued, so that stop() is not stuck behind them.
            picam2.cancel_all_and_flush()
        except Exception:
            _log.exception("picamera2 cancel_all_and_flush failed")
        _stop_quietly(picam2)

    def _read_preview(self, timeout: float) -> numpy.ndarray:
        picam2 = self._running_camera()
        array = self._call(picam2.capture_array, "main", wait=timeout)
        # XBGR8888 is R, G, B, X in memory: the first three channels are already RGB.
        return numpy.ascontiguousarray(array[..., :3])

    def _capture_still(self, timeout: float) -> bytes:
        picam2 = self._running_camera()
        buffer = io.BytesIO()
        self._call(
            picam2.switch_mode_and_capture_file, self._still_config, buffer, format="jpeg", wait=timeout
        )
        jpeg = buffer.getvalue()
        if not jpeg:
            raise DeviceError("camera returned an empty picture")
        return jpeg

    def _running_camera(self) -> Any:
        picam2 = self._picam2
        if picam2 is None:  # released by another thread after a failure
            raise DeviceDisconnected("camera stopped after a failure")
        return picam2

    @staticmethod
    def _call(method: Callable[..., Any], *args: Any, wait: float, **kwargs: Any) -> Any:
        """Run a picamera2 capture with a timeout and turn its errors into device errors."""
        try:
            return method(*args, wait=wait, **kwargs)
        except TimeoutError as exc:
            raise DeviceTimeout(f"camera did not answer within {wait:g} s") from exc
        except CancelledError as exc:  # another thread flushed the queue after a failure
            raise DeviceDisconnected("camera stopped after a failure") from exc
        except RuntimeError as exc:
            raise DeviceDisconnected(f"camera stopped working ({exc})") from exc


def _stop_quietly(picam2: Any) -> None:
    try:
        picam2.stop()
    except Exception:  # a camera that failed may refuse to stop cleanly; the failure is reported already
        _log.exception("picamera2 stop failed")
