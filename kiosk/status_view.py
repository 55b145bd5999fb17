"""What the status bar shows, as data: :class:`StatusView`, which :class:`kiosk.state.KioskState` produces.

On its own (re-exported by :mod:`kiosk.state`) so that the UI can word a status bar before the kiosk's state
exists: the first welcome frame is drawn before the devices, the outbox and the power policy are built
(``kiosk run``'s first phase), and importing :mod:`kiosk.state` would import the journey with them.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass


class Network(enum.StrEnum):
    """Whether the registry server is reachable, as the sync worker last said."""

    UNKNOWN = "unknown"
    ONLINE = "online"
    OFFLINE = "offline"


@dataclass(frozen=True)
class StatusView:
    """What the status bar shows, as data (the UI words and colours it). Equal views draw the same.

    Attributes:
        network: Reachability of the server.
        on_battery: Mains power is gone.
        battery_percent: The charge, when known.
        sessions_refused: A new session would be refused (the battery, a shutdown, a full kiosk).
        pending: Records waiting to be sent.
        dead: Records the server rejected for good.
        health: ``(device, status)`` pairs; status ``ok``, ``degraded``, ``failed`` or ``off``.
    """

    network: Network
    on_battery: bool
    battery_percent: float | None
    sessions_refused: bool
    pending: int
    dead: int
    health: tuple[tuple[str, str], ...]
