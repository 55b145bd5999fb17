"""The simulated camera: a real backend for the simulator and the tests, with switchable faults.

It films a :class:`~hal.camera.scenes.Scene` (by default the bundled public-domain face, framed as
a kiosk camera sees a citizen) at ``settings.preview_fps`` from the same preview worker as the real
backends, so the kiosk cannot tell it apart. Faults are switched at run time with
:meth:`SimulatedCamera.set_fault`, starting from ``settings.simulated_fault``:

- ``"hang"``: the camera stops answering. Preview frames stop advancing, and a read or a capture
  waits its whole timeout and raises :class:`~hal.errors.DeviceTimeout`;
- ``"disconnect"``: the camera is gone. Reads, captures and reopening raise
  :class:`~hal.errors.DeviceDisconnected` and the health is ``failed`` "camera disconnected";
- ``"black"``: frames and stills are black; :meth:`~hal.camera.Camera.self_test` reports
  ``failed`` "picture is black";
- ``"none"``: back to normal; the preview reopens by itself after its back-off.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Literal, get_args

from hal.camera import Camera
from hal.errors import DeviceClosed, DeviceDisconnected, DeviceNotFound, DeviceTimeout
from hal.events import EventQueue
from hal.settings import CameraSettings

if TYPE_CHECKING:
    import numpy

    from hal.camera.scenes import Scene

Fault = Literal["none", "hang", "disconnect", "black"]
FAULTS: tuple[str, ...] = get_args(Fault)


class SimulatedCamera(Camera):
    """A camera that films a scene, with faults a test or the simulator can switch on.

    Args:
        settings: The ``[camera]`` settings (``simulated_image``, ``simulated_fault``, sizes, fps).
        events: Where health changes are posted.
        scene: What to film; default from ``settings.simulated_image`` (empty = the bundled face,
            ``"synthetic"`` = a test pattern, else a picture file).
        frame_interval: Seconds between preview frames; default ``1 / settings.preview_fps``.
            Tests pass a short interval and wait with :meth:`~hal.camera.Camera.wait_for_frame`.
        clock: Monotonic clock stamped on frames.
    """

    backend = "simulated"

    def __init__(
        self,
        settings: CameraSettings,
        events: EventQueue | None = None,
        *,
        scene: Scene | None = None,
        frame_interval: float | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        super().__init__(settings, events, clock=clock)
        self._scene = scene
        self._frame_interval = 1.0 / settings.preview_fps if frame_interval is None else frame_interval
        self._fault: str = settings.simulated_fault
        self._fault_changed = threading.Condition()
        self._interrupts = 0
        self._shots = 0
        self._try_open()

    @property
    def fault(self) -> str:
        """The fault switched on now (``"none"`` when healthy)."""
        with self._fault_changed:
            return self._fault

    def set_fault(self, fault: Fault) -> None:
        """Switch a fault on (``"hang"``, ``"disconnect"``, ``"black"``) or off (``"none"``).

        Raises:
            ValueError: An unknown fault name.
        """
        if fault not in FAULTS:
            raise ValueError(f"unknown camera fault {fault!r}; choose one of {', '.join(FAULTS)}")
        with self._fault_changed:
            self._fault = fault
            self._fault_changed.notify_all()

    def prepare(self) -> None:
        """Make the scene now and draw a preview frame (decoding the bundled face and drawing it at the
        preview's scale take a few tens of ms, which the first frame of the photo step then does not)."""
        if self._scene is None:
            # Two threads may both get here (the warm-up and the preview); making it twice is harmless.
            self._scene = _scene_from_settings(self.settings)
        self._scene.render(0, self.settings.preview_size)

    # -- backend steps --------------------------------------------------------------------------
    def _open(self) -> None:
        # The bundled scenes are made at the first picture, not at start-up: they need Pillow and numpy,
        # which the welcome screen does not (kiosk.warm_up loads them after the first frame). A picture
        # file named in the config is read now, so that an unusable one fails the open as before.
        if self._scene is None and self.settings.simulated_image not in ("", "synthetic"):
            self._scene = _scene_from_settings(self.settings)
        # A hung camera still opens (the hang shows when asked for a picture); an unplugged one does not.
        if self.fault == "disconnect":
            raise DeviceDisconnected("camera disconnected")

    def _read_preview(self, timeout: float) -> numpy.ndarray:
        fault = self._answer(timeout)
        self._shots += 1
        return self._film(self.settings.preview_size, fault)

    def _capture_still(self, timeout: float) -> bytes:
        fault = self._answer(timeout)
        from hal.camera.jpeg import encode_rgb

        return encode_rgb(self._film(self.settings.still_size, fault), self.settings.jpeg_quality)

    def _interrupt(self) -> None:
        with self._fault_changed:
            self._interrupts += 1
            self._fault_changed.notify_all()

    def _close(self) -> None:
        self._interrupt()
        super()._close()

    # -- helpers --------------------------------------------------------------------------------
    def _answer(self, timeout: float) -> str:
        """Behave like the hardware under the current fault; return the fault if a picture comes."""
        with self._fault_changed:
            if self._fault == "hang":
                interrupts = self._interrupts
                self._fault_changed.wait_for(
                    lambda: self._fault != "hang" or self._interrupts != interrupts, timeout
                )
            fault = self._fault
        if self.closed:
            raise DeviceClosed("the camera is closed")
        if fault == "hang":
            raise DeviceTimeout(f"camera did not answer within {timeout:g} s")
        if fault == "disconnect":
            raise DeviceDisconnected("camera disconnected")
        return fault

    def _film(self, size: tuple[int, int], fault: str) -> numpy.ndarray:
        if fault == "black":
            import numpy

            return numpy.zeros((size[1], size[0], 3), numpy.uint8)
        if self._scene is None:
            self.prepare()
        assert self._scene is not None
        return self._scene.render(self._shots, size)


def _scene_from_settings(settings: CameraSettings) -> Scene:
    from hal.camera.scenes import FaceScene, TestPatternScene

    if settings.simulated_image == "":
        return FaceScene.astronaut()
    if settings.simulated_image == "synthetic":
        return TestPatternScene()
    try:
        return FaceScene.from_file(settings.simulated_image)
    except ValueError as exc:
        raise DeviceNotFound(f"no camera found: simulated picture unusable: {exc}") from exc
