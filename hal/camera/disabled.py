"""The camera of a kiosk configured without one (``backend = "none"``).

It is a device like the others so the kiosk needs no special case: its health is ``failed`` with the
reason, it never gives a frame, and a capture raises :class:`~hal.errors.DeviceNotFound`. The journey
then says the photo is taken at the counter.
"""

from __future__ import annotations

from hal.camera import Camera
from hal.errors import DeviceNotFound
from hal.events import EventQueue
from hal.settings import CameraSettings

REASON = "no camera: turned off in the settings (camera backend = none)"


class DisabledCamera(Camera):
    """A camera switched off in the settings."""

    backend = "none"

    def __init__(self, settings: CameraSettings, events: EventQueue | None = None) -> None:
        super().__init__(settings, events)
        self._try_open()

    def start_preview(self) -> None:
        """Do nothing: there is no camera to preview (there is no worker to retry either)."""
        self._check_open()

    def _open(self) -> None:
        raise DeviceNotFound(REASON)

    # Never reached (the camera never opens), but a camera must say what it would do.
    def _read_preview(self, timeout: float) -> None:
        raise DeviceNotFound(REASON)

    def _capture_still(self, timeout: float) -> bytes:
        raise DeviceNotFound(REASON)
