"""The camera of a kiosk without a working one: switched off (``backend = "none"``) or not openable at all.

It is a device like the others so the kiosk needs no special case (the one null object of its kind): its
health is ``failed`` with the reason, it never gives a frame, and a capture raises
:class:`~hal.errors.DeviceNotFound`. The journey then says the photo is taken at the counter.
"""

from __future__ import annotations

from hal.camera import Camera
from hal.device import HealthStatus
from hal.errors import DeviceNotFound
from hal.events import EventQueue
from hal.settings import CameraSettings

REASON = "no camera: turned off in the settings (camera backend = none)"


class DisabledCamera(Camera):
    """A camera switched off in the settings, or one whose backend could not even be constructed.

    Args:
        settings: The ``[camera]`` settings.
        events: Where its health goes (None for a camera switched off: that is not news).
        reason: Why there is no camera, in plain words.
        backend: The configured backend (``"none"`` when switched off).
    """

    def __init__(
        self,
        settings: CameraSettings,
        events: EventQueue | None = None,
        *,
        reason: str = REASON,
        backend: str = "none",
    ) -> None:
        super().__init__(settings, events)
        self.backend = backend
        self._reason = reason
        # Failed from the start, without the warning a camera that breaks logs: this is how it was made.
        self._hardware_failed = True
        self._set_health(HealthStatus.FAILED, reason)

    def start_preview(self) -> None:
        """Do nothing: there is no camera to preview (there is no worker to retry either)."""
        self._check_open()

    def _open(self) -> None:
        raise DeviceNotFound(self._reason)

    # Never reached (the camera never opens), but a camera must say what it would do.
    def _read_preview(self, timeout: float) -> None:
        raise DeviceNotFound(self._reason)

    def _capture_still(self, timeout: float) -> bytes:
        raise DeviceNotFound(self._reason)
