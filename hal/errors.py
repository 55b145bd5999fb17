"""Errors of the hardware layer.

Modelled on gpiozero: one root, :class:`DeviceError`, and each subclass also inherits the built-in
exception it resembles, so callers that only know Python's own exceptions still catch them.
"""

from __future__ import annotations


class DeviceError(Exception):
    """Root of every error raised by a device of the hardware layer."""


class DeviceClosed(DeviceError, RuntimeError):
    """The device was used after :meth:`close`."""


class DeviceNotFound(DeviceError, LookupError):
    """The hardware is not there (no camera, no serial port, no HAT)."""


class DeviceTimeout(DeviceError, TimeoutError):
    """The device did not answer within the allowed time."""


class DeviceDisconnected(DeviceError, ConnectionError):
    """The device was there and went away (USB unplugged, cable cut)."""


class DeviceProtocolError(DeviceError, ValueError):
    """The device sent something that its protocol does not allow."""


class BackendUnavailable(DeviceError, ImportError):
    """The library a backend needs is not installed on this machine."""


class UnknownBackend(DeviceError, ValueError):
    """A backend name that the device does not know."""


class DeviceFallbackWarning(UserWarning):
    """Backend ``auto`` found no real hardware and fell back to the simulated device."""
