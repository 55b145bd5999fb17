"""The camera of the photo step: live preview frames and full-resolution JPEG stills.

One interface, :class:`Camera`, with three backends beside it:

- ``picamera2``: the Raspberry Pi camera through libcamera (:mod:`hal.camera.picamera2_backend`);
- ``opencv``: a USB webcam through OpenCV's ``VideoCapture`` (:mod:`hal.camera.opencv_backend`);
- ``simulated``: a face picture or test pattern with switchable faults (:mod:`hal.camera.simulated`).

:func:`open_camera` picks one from :class:`~hal.settings.CameraSettings`. A camera whose hardware is
missing or broken is still returned, in health ``failed`` with the reason in plain words, so the
kiosk keeps serving (the photo is then taken at the counter); :meth:`Camera.self_test` and the
preview worker keep trying to reopen it.

The preview runs on its own worker thread, which keeps only the newest frame: the UI (and the face
check) read it with :meth:`Camera.latest_frame`, which never blocks. Stills are made in memory and
never touch the disk, since they are a citizen's photo.
"""

from __future__ import annotations

import abc
import logging
import threading
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from hal.device import Device, Health, HealthStatus
from hal.errors import DeviceError, DeviceFallbackWarning, DeviceTimeout
from hal.events import EventQueue
from hal.settings import CameraSettings

if TYPE_CHECKING:
    import numpy

__all__ = ["Camera", "Frame", "blank_picture_problem", "open_camera"]

_log = logging.getLogger(__name__)

#: How long stop_preview() waits for the worker to end.
_STOP_WAIT_S = 1.0


@dataclass(frozen=True, eq=False)
class Frame:
    """One preview frame.

    Attributes:
        rgb: ``H x W x 3`` uint8 pixels in RGB order, read-only (the same array is handed to
            every reader, so nobody may draw on it).
        seq: Increases by one with every new frame of this camera.
        t: Monotonic time the frame was captured.
    """

    rgb: numpy.ndarray = field(repr=False)
    seq: int
    t: float


def blank_picture_problem(rgb: numpy.ndarray) -> str | None:
    """Say in plain words what is wrong with a picture that shows nothing, or None if it shows something.

    A camera with its lens covered, its sensor dead or its cable half out still delivers frames,
    but they are black or one flat colour; such a camera has failed for the citizen.

    Args:
        rgb: ``H x W x 3`` uint8 picture.

    Returns:
        ``"picture is black"``, ``"picture is one flat colour"`` or None.
    """
    import numpy  # not at import: the welcome screen needs no numpy (kiosk.warm_up loads it after)

    # Every 4th pixel is plenty to tell a blank picture and keeps this cheap at full resolution.
    sample = rgb[::4, ::4].astype(numpy.float32)
    if sample.size == 0:
        return "picture is empty"
    if float(sample.mean()) < 12.0 and float(sample.max()) < 40.0:
        return "picture is black"
    if float(sample.std()) < 3.0:
        return "picture is one flat colour"
    return None


class Camera(Device, abc.ABC):
    """A camera: a live preview kept by a worker thread, JPEG stills on demand, and a self-test.

    Subclasses (the backends) implement four small hardware steps; everything about threads,
    health, failure and reopening lives here so that every backend behaves the same:

    - :meth:`_open` acquires and starts the hardware (raises :class:`~hal.errors.DeviceError`);
    - :meth:`_release` lets go of it after a failure so that a later :meth:`_open` starts afresh;
    - :meth:`_read_preview` returns the next preview picture as RGB;
    - :meth:`_capture_still` returns a full-resolution JPEG.

    Args:
        settings: The ``[camera]`` settings.
        events: Where health changes are posted, if anywhere.
        clock: Monotonic clock stamped on frames; tests inject their own.
    """

    kind = "camera"

    #: Seconds the worker waits between two preview frames; 0 = as fast as the hardware delivers
    #: (backends whose read already waits for the camera's next frame).
    _frame_interval: float = 0.0

    def __init__(
        self,
        settings: CameraSettings,
        events: EventQueue | None = None,
        *,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        super().__init__(events)
        self.settings = settings
        self._clock = clock
        # _frames guards the newest frame and the counters that waiters watch.
        self._frames = threading.Condition()
        self._latest: Frame | None = None
        self._seq = 0
        # Every read of the preview worker is an attempt; the self-test judges only the outcome
        # (a frame or a failure) of an attempt begun after it started, never one already under way.
        self._attempt = 0
        self._frame_attempt = 0
        self._failure_attempt = 0
        # _source_lock guards opening and releasing the hardware (never held during a capture).
        self._source_lock = threading.RLock()
        self._source_open = False
        # True while the health is "failed" because of a hardware error that a good frame clears;
        # a blank picture found by self_test() is cleared only by a passing self_test().
        self._hardware_failed = False
        # _worker_lock guards starting and stopping the preview worker.
        self._worker_lock = threading.Lock()
        self._worker: threading.Thread | None = None
        self._stop = threading.Event()
        # Wakes the worker early from its wait between reopen attempts (stop, self-test).
        self._wake = threading.Event()

    # -- public interface -----------------------------------------------------------------------
    def start_preview(self) -> None:
        """Start the worker thread that keeps the newest preview frame; does nothing if running."""
        self._check_open()
        with self._worker_lock:
            if self._worker is not None and self._worker.is_alive():
                return
            # Each worker has its own stop event: one still finishing a blocked read after
            # stop_preview() never publishes into the preview that a new start began.
            self._stop = threading.Event()
            self._wake.clear()
            self._worker = threading.Thread(
                target=self._preview_loop, args=(self._stop,), name=f"camera-{self.backend}", daemon=True
            )
            self._worker.start()

    def stop_preview(self) -> None:
        """Stop the preview worker; does nothing if it is not running.

        Returns within about a second even if the camera hangs (the UI thread may call this): a
        worker stuck in a capture ends by itself when the capture's timeout runs out, without
        publishing anything more.
        """
        worker = self._signal_stop()
        if worker is not None:
            worker.join(timeout=_STOP_WAIT_S)

    def prepare(self) -> None:
        """Load ahead what the first picture needs, so that the photo step's first frame comes sooner.

        Safe on any thread, at any time; the kiosk calls it from its warm-up after the first welcome frame.
        The base camera has nothing to prepare; a backend that loads something lazily overrides it.
        """

    def forget_last_frame(self) -> None:
        """Drop the newest preview frame once the preview has stopped; does nothing while it runs.

        A stopped preview's last frame shows whoever stood in front of the camera, in half a megabyte or
        more of pixels: the kiosk forgets it when a citizen's session ends.
        """
        with self._worker_lock:
            if self._worker is not None and self._worker.is_alive():
                return
            with self._frames:
                self._latest = None

    @property
    def previewing(self) -> bool:
        """True while the preview worker runs."""
        worker = self._worker
        return worker is not None and worker.is_alive()

    def latest_frame(self) -> Frame | None:
        """Return the newest preview frame without waiting; None before the first one or when failed."""
        with self._frames:
            return self._latest

    def wait_for_frame(self, after_seq: int = 0, timeout: float | None = None) -> Frame | None:
        """Wait until a frame newer than ``after_seq`` arrives and return it; None on timeout or close.

        For threads that may wait (tests, tools); the UI uses :meth:`latest_frame`. A failure does
        not end the wait: the preview worker may reopen the camera within ``timeout``.

        Args:
            after_seq: Sequence number of the last frame the caller has seen.
            timeout: Longest wait in seconds; None waits until a frame comes or the camera is closed.
        """
        with self._frames:
            self._frames.wait_for(
                lambda: (self._latest is not None and self._latest.seq > after_seq) or self.closed, timeout
            )
            latest = self._latest
        return latest if latest is not None and latest.seq > after_seq else None

    def capture_jpeg(self, timeout: float | None = None) -> bytes:
        """Take a full-resolution still and return it as JPEG bytes, in memory only.

        Args:
            timeout: Longest wait in seconds; default ``settings.capture_timeout_s``.

        Raises:
            DeviceTimeout: The camera did not deliver in time.
            DeviceDisconnected: The camera went away.
            DeviceNotFound: There is no camera to capture with.
            DeviceClosed: The camera was closed.

        On any of these the health goes ``failed`` with the reason.
        """
        self._check_open()
        timeout = self.settings.capture_timeout_s if timeout is None else timeout
        try:
            self._ensure_open()
            jpeg = self._capture_still(timeout)
        except DeviceError as exc:
            self._report_failure(exc)
            raise
        except Exception as exc:  # a backend library's own error: never let it escape unexplained
            error = DeviceError(f"camera failed: {exc}")
            self._report_failure(error)
            raise error from exc
        self._report_working()
        return jpeg

    def self_test(self) -> Health:
        """Capture a frame, check that it shows something, and return the resulting health.

        A failed camera is reopened first, so this is also how a technician brings a camera back.
        """
        self._check_open()
        timeout = self.settings.capture_timeout_s
        try:
            rgb = self._test_picture(timeout)
        except DeviceError as exc:
            self._report_failure(exc, fresh=True)
            return self.health()
        except Exception as exc:  # a backend library's own error
            self._report_failure(DeviceError(f"camera failed: {exc}"), fresh=True)
            return self.health()
        if rgb is None:
            return self.health()
        # The hardware answered; what is left to judge is the picture itself.
        self._hardware_failed = False
        problem = blank_picture_problem(rgb)
        if problem is not None:
            self._set_health(HealthStatus.FAILED, problem)
        else:
            self._set_health(HealthStatus.OK)
        return self.health()

    # -- what backends implement ----------------------------------------------------------------
    @abc.abstractmethod
    def _open(self) -> None:
        """Acquire and start the hardware; raise a :class:`~hal.errors.DeviceError` if it is not there."""

    def _release(self) -> None:
        """Let go of the hardware after a failure or on close; must not raise."""

    @abc.abstractmethod
    def _read_preview(self, timeout: float) -> numpy.ndarray | None:
        """Return the next preview picture (``H x W x 3`` RGB uint8), or None if there is none yet."""

    @abc.abstractmethod
    def _capture_still(self, timeout: float) -> bytes:
        """Return a full-resolution still as JPEG bytes."""

    def _interrupt(self) -> None:
        """Wake a preview read that is blocked (stop or close asked for); optional."""

    # -- shared machinery -----------------------------------------------------------------------
    def _signal_stop(self) -> threading.Thread | None:
        with self._worker_lock:
            worker, self._worker = self._worker, None
            self._stop.set()
        if worker is not None:
            self._wake.set()
            self._interrupt()
        return worker

    def _try_open(self) -> None:
        """Open the hardware now; if it is missing, say so in the health instead of raising.

        Backends call this at the end of ``__init__``: a kiosk without a working camera still
        starts and serves, and the preview worker or :meth:`self_test` reopen it later.
        """
        try:
            self._ensure_open()
        except DeviceError as exc:
            self._report_failure(exc)
        except Exception as exc:  # a backend library's own error must not stop the kiosk starting
            _log.exception("opening the camera failed")
            self._report_failure(DeviceError(f"camera failed: {exc}"))

    def _ensure_open(self) -> None:
        with self._source_lock:
            self._check_open()
            if not self._source_open:
                self._open()
                self._source_open = True

    def _release_source(self) -> None:
        with self._source_lock:
            if not self._source_open:
                return
            self._source_open = False
            try:
                self._release()
            except Exception:  # releasing a broken camera may fail too; the failure is already known
                _log.exception("releasing the camera failed")

    def _test_picture(self, timeout: float) -> numpy.ndarray | None:
        if self.previewing:
            # The worker owns the hardware: wake it in case it waits to reopen, then judge what its
            # next attempt gives (one under way may have begun before a fault was fixed: skip it).
            with self._frames:
                begun = self._attempt
                self._wake.set()
                self._frames.wait_for(
                    lambda: self._frame_attempt > begun or self._failure_attempt > begun or self.closed,
                    timeout,
                )
                latest = self._latest
                if self._frame_attempt > begun and latest is not None:
                    return latest.rgb
                if self._failure_attempt > begun:
                    return None  # the worker failed to read and has reported why
            raise DeviceTimeout(f"camera gave no picture within {timeout:g} s")
        self._ensure_open()
        deadline = time.monotonic() + timeout
        while (left := deadline - time.monotonic()) > 0:
            rgb = self._read_preview(left)
            if rgb is not None:
                self._publish(rgb)
                return rgb
        raise DeviceTimeout(f"camera gave no picture within {timeout:g} s")

    def _publish(self, rgb: numpy.ndarray, attempt: int = 0) -> None:
        rgb.flags.writeable = False
        with self._frames:
            self._seq += 1
            self._latest = Frame(rgb=rgb, seq=self._seq, t=self._clock())
            self._frame_attempt = max(self._frame_attempt, attempt)
            self._frames.notify_all()
        self._report_working()

    def _report_working(self) -> None:
        if self._hardware_failed:
            self._hardware_failed = False
            self._set_health(HealthStatus.OK)

    def _report_failure(self, error: BaseException, *, fresh: bool = False, attempt: int = 0) -> None:
        """Mark the camera failed, drop the last frame and let go of the hardware.

        The first error of a failure is its cause; errors after it (a flushed capture on another
        thread, reopen attempts) are consequences and keep the first reason, unless ``fresh`` (a
        self-test, which a technician runs to see what is wrong now).
        """
        detail = str(error) or type(error).__name__
        if self._hardware_failed and not fresh:
            _log.debug("camera (%s) still failing: %s", self.backend, detail)
        else:
            _log.warning("camera (%s) failed: %s", self.backend, detail)
            self._hardware_failed = True
            self._set_health(HealthStatus.FAILED, detail)
        with self._frames:
            self._latest = None
            self._failure_attempt = max(self._failure_attempt, attempt)
            self._frames.notify_all()
        self._release_source()

    def _preview_loop(self, stop: threading.Event) -> None:
        backoff = self.settings.reconnect_initial_s
        next_due = time.monotonic()
        while not stop.is_set():
            with self._frames:
                self._attempt += 1
                attempt = self._attempt
            try:
                self._ensure_open()
                rgb = self._read_preview(self.settings.capture_timeout_s)
            except Exception as exc:
                if stop.is_set() or self.closed:
                    break
                error = exc if isinstance(exc, DeviceError) else DeviceError(f"camera failed: {exc}")
                self._report_failure(error, attempt=attempt)
                # Wait before reopening, longer after each failure, so that a broken camera does
                # not eat the CPU; a self-test or stop wakes the wait early.
                self._wake.wait(backoff)
                self._wake.clear()
                backoff = min(backoff * 2, self.settings.reconnect_max_s)
                continue
            backoff = self.settings.reconnect_initial_s
            if rgb is None or stop.is_set():
                continue
            self._publish(rgb, attempt)
            if self._frame_interval > 0:
                next_due = max(next_due + self._frame_interval, time.monotonic())
                stop.wait(next_due - time.monotonic())

    def _close(self) -> None:
        worker = self._signal_stop()
        # Releasing also ends a capture the worker may be blocked in (picamera2 flushes its jobs).
        self._release_source()
        if worker is not None:
            worker.join(timeout=self.settings.capture_timeout_s + _STOP_WAIT_S)
            if worker.is_alive():
                _log.warning("camera preview worker still busy after close")
        with self._frames:
            self._latest = None
            self._frames.notify_all()


def open_camera(settings: CameraSettings, events: EventQueue | None = None) -> Camera:
    """Build the camera that ``settings.backend`` names.

    ``auto`` takes the Raspberry Pi camera if picamera2 is installed and lists a camera, else a USB
    webcam if ``/dev/video<settings.device>`` opens and gives a picture, else the simulated camera
    with a :class:`~hal.errors.DeviceFallbackWarning`. An explicit backend whose hardware is missing
    is returned in health ``failed`` ("no camera found: ...") instead of raising, so the kiosk keeps
    serving; its self-test and preview keep trying to reopen it.

    Args:
        settings: The ``[camera]`` settings.
        events: Where health changes are posted.
    """
    backend = settings.backend
    if backend == "picamera2":
        from hal.camera.picamera2_backend import PiCamera

        return PiCamera(settings, events)
    if backend == "opencv":
        from hal.camera.opencv_backend import OpenCVCamera

        return OpenCVCamera(settings, events)
    if backend == "simulated":
        from hal.camera.simulated import SimulatedCamera

        return SimulatedCamera(settings, events)
    if backend == "none":
        from hal.camera.disabled import DisabledCamera

        return DisabledCamera(settings, events)
    return _open_first_working(settings, events)


def _open_first_working(settings: CameraSettings, events: EventQueue | None) -> Camera:
    from hal.camera import picamera2_backend
    from hal.camera.opencv_backend import OpenCVCamera
    from hal.camera.simulated import SimulatedCamera

    # Candidates are tried without the event queue: a probe that finds nothing is not news for the
    # main loop; only the camera that is kept reports its health from then on.
    reasons: list[str] = []
    candidates: list[Callable[[], Camera]] = []
    if picamera2_backend.cameras_listed():
        candidates.append(lambda: picamera2_backend.PiCamera(settings))
    else:
        reasons.append("no Raspberry Pi camera listed")
    candidates.append(lambda: OpenCVCamera(settings))
    for make in candidates:
        camera = make()
        if camera.health().ok:
            camera._events = events
            return camera
        reasons.append(camera.health().detail)
        camera.close()
    warnings.warn(
        f"no camera found ({'; '.join(reasons)}): using the simulated camera",
        DeviceFallbackWarning,
        stacklevel=3,
    )
    return SimulatedCamera(settings, events)
