"""A USB webcam through OpenCV 4's ``cv2.VideoCapture``, as many kiosks use.

The webcam streams at the still resolution; the preview worker reads every frame, keeps the newest
full-resolution one for stills and hands a downscaled RGB copy to the preview. A still is the first
full frame read *after* the capture was asked for, encoded with ``cv2.imencode`` in memory.

``VideoCapture.read()`` has no timeout of its own, so a still taken while the preview runs waits on the
worker's frames, which is bounded by ``timeout``. An unplugged webcam makes ``read()`` return False:
after ``read_failures_allowed`` failures in a row the camera is reported disconnected, released, and
the preview worker reopens it with a growing back-off until it is plugged in again.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

import numpy

from hal.camera import Camera
from hal.camera.jpeg import encode_bgr
from hal.errors import DeviceDisconnected, DeviceNotFound, DeviceTimeout
from hal.events import EventQueue
from hal.opencv import cv2
from hal.settings import CameraSettings

#: How long releasing the webcam waits for a read in progress (longer than a frame at 4 fps).
_RELEASE_WAIT_S = 0.25


class OpenCVCamera(Camera):
    """A USB webcam (``/dev/video<settings.device>``) read with OpenCV.

    Args:
        settings: The ``[camera]`` settings.
        events: Where health changes are posted.
        video_capture: Makes a ``VideoCapture``-like object from a device index; default
            ``cv2.VideoCapture``. Tests pass a fake one.
        clock: Monotonic clock stamped on frames.
        read_failures_allowed: Failed reads in a row before the webcam counts as disconnected; a
            single failure can be a USB hiccup.
    """

    backend = "opencv"

    def __init__(
        self,
        settings: CameraSettings,
        events: EventQueue | None = None,
        *,
        video_capture: Callable[[int], Any] | None = None,
        clock: Callable[[], float] = time.monotonic,
        read_failures_allowed: int = 5,
    ) -> None:
        super().__init__(settings, events, clock=clock)
        self._video_capture = video_capture
        self._read_failures_allowed = max(1, read_failures_allowed)
        # _cap_lock serialises every use of the VideoCapture, which is not thread-safe.
        self._cap_lock = threading.Lock()
        self._cap: Any = None
        # The newest full-resolution frame the worker read, for stills while previewing.
        self._full_ready = threading.Condition()
        self._full: numpy.ndarray | None = None
        self._full_seq = 0
        self._try_open()

    @property
    def _device_name(self) -> str:
        return f"/dev/video{self.settings.device}"

    def _open(self) -> None:
        # Every VideoCapture call happens under _cap_lock. A read stuck in the driver holds it: then
        # give up instead of opening the same device a second time.
        if not self._cap_lock.acquire(timeout=self.settings.capture_timeout_s):
            raise DeviceTimeout(f"camera did not answer within {self.settings.capture_timeout_s:g} s")
        try:
            self._cap = self._open_capture()
        finally:
            self._cap_lock.release()

    def _open_capture(self) -> Any:
        # Looked up at call time, not import time, so that a patched cv2.VideoCapture is honoured.
        make = self._video_capture or cv2.VideoCapture
        cap = make(self.settings.device)
        if not cap.isOpened():
            cap.release()
            raise DeviceNotFound(f"no camera found: {self._device_name} does not open")
        width, height = self.settings.still_size
        cap.set(cv2.CAP_PROP_FRAME_WIDTH, width)
        cap.set(cv2.CAP_PROP_FRAME_HEIGHT, height)
        # Keep at most one frame queued so the preview shows now, not a second ago.
        cap.set(cv2.CAP_PROP_BUFFERSIZE, 1)
        # A node that opens but gives no picture (a Pi's codec or ISP node) is not a webcam.
        ok, frame = cap.read()
        if not ok or frame is None or frame.size == 0:
            cap.release()
            raise DeviceNotFound(f"no camera found: {self._device_name} gives no picture")
        return cap

    def _release(self) -> None:
        if self._cap_lock.acquire(timeout=_RELEASE_WAIT_S):
            try:
                cap, self._cap = self._cap, None
                if cap is not None:
                    cap.release()
            finally:
                self._cap_lock.release()
        else:
            # A read is stuck in the driver. Releasing the capture under it is unsafe and waiting
            # could take for ever, so abandon it: the read releases it itself if it ever returns.
            self._cap = None
        with self._full_ready:
            self._full = None
            self._full_ready.notify_all()

    def _read_preview(self, timeout: float) -> numpy.ndarray:
        bgr = self._read_bgr(timeout)
        with self._full_ready:
            self._full = bgr
            self._full_seq += 1
            self._full_ready.notify_all()
        height, width = bgr.shape[:2]
        preview_w, preview_h = self.settings.preview_size
        scale = min(preview_w / width, preview_h / height)
        if scale < 1:
            size = (max(1, round(width * scale)), max(1, round(height * scale)))
            bgr = cv2.resize(bgr, size, interpolation=cv2.INTER_AREA)
        return cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)

    def _capture_still(self, timeout: float) -> bytes:
        if not self.previewing:
            return encode_bgr(self._read_bgr(timeout), self.settings.jpeg_quality)
        # The worker owns the reads: take the first full frame it reads from now on.
        with self._full_ready:
            seen = self._full_seq
            self._full_ready.wait_for(lambda: self._full_seq > seen or self._cap is None, timeout)
            bgr = self._full if self._full_seq > seen else None
        if bgr is not None:
            return encode_bgr(bgr, self.settings.jpeg_quality)
        if self._cap is None:  # the worker found the webcam gone meanwhile
            raise DeviceDisconnected(self.health().detail or "camera disconnected")
        raise DeviceTimeout(f"camera did not answer within {timeout:g} s")

    def _read_bgr(self, timeout: float) -> numpy.ndarray:
        """Read the next frame, tolerating a few failed reads in a row; always a BGR picture."""
        for _ in range(self._read_failures_allowed):
            if not self._cap_lock.acquire(timeout=timeout):
                raise DeviceTimeout(f"camera did not answer within {timeout:g} s")
            try:
                cap = self._cap
                if cap is None:
                    raise DeviceDisconnected("camera stopped after a failure")
                ok, frame = cap.read()
                if self._cap is not cap:  # abandoned by _release() while this read was stuck
                    cap.release()
                    raise DeviceDisconnected("camera stopped after a failure")
            finally:
                self._cap_lock.release()
            if ok and frame is not None and frame.size > 0:
                return frame if frame.ndim == 3 else cv2.cvtColor(frame, cv2.COLOR_GRAY2BGR)
        raise DeviceDisconnected("camera disconnected")
