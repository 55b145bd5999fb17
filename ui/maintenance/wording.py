"""Codes and numbers from the kiosk layer in the technician's words: device names, states, durations, sizes.

Every sentence is marked for the maintenance catalog; an unknown code is shown as it is rather than
crashing a screen (a newer kiosk module may add a state before this table learns it).
"""

from __future__ import annotations

import time
from collections.abc import Callable

from ui.i18n import Translator
from ui.maintenance.i18n import M_

DEVICE_NAMES = {
    "camera": M_("Camera"),
    "signature_pad": M_("Signature pad"),
    "power": M_("UPS and battery"),
    "printer": M_("Receipt printer"),
}

DEVICE_STATUS = {
    "ok": M_("Working"),
    "degraded": M_("Limited"),
    "failed": M_("Failed"),
    "off": M_("Switched off"),
}

#: Backends as a technician reads them; the product names (picamera2, OpenCV) stay as they are.
DEVICE_BACKENDS = {
    "simulated": M_("simulated"),
    "none": M_("switched off"),
}

#: How each device status is coloured (the tone names of the shared widgets).
STATUS_TONE = {"ok": "success", "degraded": "warning", "failed": "error", "off": "muted"}

RECORD_STATES = {
    "pending": M_("Waiting"),
    "sending": M_("Sending"),
    "sent": M_("Sent"),
    "dead": M_("Rejected"),
}

SYNC_STATES = {
    "idle": M_("Up to date"),
    "sending": M_("Sending"),
    "waiting": M_("Waiting to retry"),
    "held": M_("Stopped: the server refuses this kiosk"),
    "stopped": M_("Not running"),
}

_SECONDS = M_("{seconds} s")
_MINUTES = M_("{minutes} min")
_MINUTES_SECONDS = M_("{minutes} min {seconds} s")
_HOURS = M_("{hours} h")
_HOURS_MINUTES = M_("{hours} h {minutes} min")
_DAYS = M_("{days} d")
_DAYS_HOURS = M_("{days} d {hours} h")
_AGO = M_("{duration} ago")
_GB = M_("{value} GB")
_MB = M_("{value} MB")


def device_name(tr: Translator, name: str) -> str:
    """``camera`` -> "Camera" in the current language."""
    message = DEVICE_NAMES.get(name)
    return tr(message) if message else name


def device_backend(tr: Translator, backend: str) -> str:
    """``simulated`` -> "disimulasikan" in Indonesian; a product name (``picamera2``) as it is."""
    message = DEVICE_BACKENDS.get(backend)
    return tr(message) if message else backend


def device_status(tr: Translator, status: str) -> str:
    """``failed`` -> "Failed" in the current language."""
    message = DEVICE_STATUS.get(status)
    return tr(message) if message else status


def record_state(tr: Translator, state: str) -> str:
    """``dead`` -> "Rejected" in the current language."""
    message = RECORD_STATES.get(state)
    return tr(message) if message else state


def sync_state(tr: Translator, state: str) -> str:
    """``waiting`` -> "Waiting to retry" in the current language."""
    message = SYNC_STATES.get(state)
    return tr(message) if message else state


def duration(tr: Translator, seconds: float) -> str:
    """A duration in its two largest units, the second left out when zero: "45 s", "3 min 20 s", "5 min",
    "2 h 5 min", "3 d 4 h"."""
    total = max(0, round(seconds))
    if total < 60:
        return tr(_SECONDS).format(seconds=total)
    minutes, secs = divmod(total, 60)
    if minutes < 60:
        return tr(_MINUTES_SECONDS if secs else _MINUTES).format(minutes=minutes, seconds=secs)
    hours, minutes = divmod(minutes, 60)
    if hours < 24:
        return tr(_HOURS_MINUTES if minutes else _HOURS).format(hours=hours, minutes=minutes)
    days, hours = divmod(hours, 24)
    return tr(_DAYS_HOURS if hours else _DAYS).format(days=days, hours=hours)


def ago(tr: Translator, at: float, now: float) -> str:
    """How long ago the wall-clock time ``at`` was, seen from ``now``."""
    return tr(_AGO).format(duration=duration(tr, now - at))


def size(tr: Translator, size_bytes: int) -> str:
    """A storage size: "812 MB", "14.6 GB"."""
    if size_bytes >= 1_000_000_000:
        return tr(_GB).format(value=f"{size_bytes / 1e9:.1f}")
    return tr(_MB).format(value=f"{size_bytes / 1e6:.0f}")


def clock_time(
    at: float, *, seconds: bool = False, localtime: Callable[[float], time.struct_time] = time.localtime
) -> str:
    """The local time of day of ``at`` (seconds since the epoch), as "14:05" (or "14:05:09")."""
    return time.strftime("%H:%M:%S" if seconds else "%H:%M", localtime(at))
