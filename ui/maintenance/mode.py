"""What maintenance mode works with, gathered once when the kiosk starts, and the scenes it opens.

:func:`open_maintenance` gathers a :class:`MaintenanceMode` from the parts the kiosk's builder made
(:class:`~kiosk.assembly.Kiosk`: the maintenance session and metrics, the ingest client for the network
probe and "send now", the kiosk's identity for USB bundles, the face check) and adds the UI's own: the text
renderer and the in-memory log ring buffer. It builds none of the kiosk's parts. Its
:meth:`MaintenanceMode.scene` is what :class:`~ui.maintenance.switch.KioskScenes` calls on every long press.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from hal.events import EventQueue
from kiosk.assembly import FaceCheck, Kiosk, face_check
from kiosk.devices import Devices
from kiosk.maintenance import MaintenanceSession, Metrics
from kiosk.outbox import Outbox
from kiosk.sealing import KioskIdentity
from kiosk.sync import IngestClient, SyncWorker
from ui.i18n import DEFAULT_LANGUAGE
from ui.maintenance.log_lines import RecentLogs
from ui.maintenance.usb_sticks import mounted_sticks
from ui.text import TextRenderer

if TYPE_CHECKING:
    from ui.maintenance.scene import MaintenanceScene

log = logging.getLogger(__name__)


@dataclass
class MaintenanceMode:
    """Everything the maintenance screens work with.

    Attributes:
        session: The technician's session (PIN, lockout, audit, idle exit, system commands).
        text: The text renderer (the citizen view's, so its cache is shared).
        devices: The kiosk's devices (null objects for those switched off).
        outbox: The outbox.
        events: The main loop's queue (progress of background work travels on it).
        data_dir: The data directory (its partition's free space is shown).
        kiosk_id: This kiosk's id.
        server_url: The ingest server's address (shown with the network probe).
        metrics: The metrics table the 24-hour chart reads.
        sync: The sync worker (its status is shown).
        client: The ingest client, for the network probe and "send now".
        identity: The kiosk's signing key, for USB bundles.
        logs: The recent log lines.
        language: The language the screens open in.
        high_contrast: The high-contrast theme.
        clock: Monotonic seconds (the session's idle clock; the app's clock).
        wall_clock: Seconds since the epoch.
        started_at: When the kiosk app started, on ``clock``.
        usb_sticks: Lists the mounted USB sticks.
        wipe_citizen: Wipes the citizen session open behind the PIN pad (the journey's ``cancel``).
        face_check: Makes the face-check worker for the camera test, like the citizen's photo screen.
        closers: Called by :meth:`close`.
    """

    session: MaintenanceSession
    text: TextRenderer
    devices: Devices
    outbox: Outbox
    events: EventQueue | None
    data_dir: Path
    kiosk_id: str
    server_url: str = ""
    metrics: Metrics | None = None
    sync: SyncWorker | None = None
    client: IngestClient | None = None
    identity: KioskIdentity | None = None
    logs: RecentLogs | None = None
    language: str = DEFAULT_LANGUAGE
    high_contrast: bool = False
    clock: Callable[[], float] = time.monotonic
    wall_clock: Callable[[], float] = time.time
    started_at: float | None = None
    usb_sticks: Callable[[], list[Path]] = mounted_sticks
    wipe_citizen: Callable[[], object] | None = None
    face_check: FaceCheck = face_check
    closers: list[Callable[[], object]] = field(default_factory=list)

    def __post_init__(self) -> None:
        if self.started_at is None:
            self.started_at = self.clock()

    def scene(self, leave: Callable[[], None]) -> MaintenanceScene:
        """A new maintenance scene, starting at the PIN pad; it calls ``leave()`` when it is done."""
        from ui.maintenance.scene import MaintenanceScene  # at the first long press (see the package)

        return MaintenanceScene(self, leave)

    def close(self) -> None:
        """Detach the log buffer (the kiosk closes its own parts)."""
        for closer in self.closers:
            try:
                closer()
            except Exception:  # noqa: BLE001 - closing must reach everything
                log.exception("closing maintenance mode: a step failed")


def open_maintenance(
    kiosk: Kiosk,
    *,
    text: TextRenderer,
    clock: Callable[[], float] = time.monotonic,
    wall_clock: Callable[[], float] = time.time,
) -> MaintenanceMode | None:
    """Maintenance mode over the kiosk's parts; None when the kiosk has none (its database cannot be opened).

    The kiosk can serve citizens without maintenance mode then; the builder logged why
    (:attr:`~kiosk.assembly.Kiosk.maintenance_problem`).
    """
    parts = kiosk.maintenance
    if parts is None:
        return None
    config = kiosk.config
    logs = RecentLogs().install()
    return MaintenanceMode(
        session=parts.session,
        text=text,
        devices=kiosk.devices,
        outbox=kiosk.outbox,
        events=kiosk.events,
        data_dir=config.data_path,
        kiosk_id=config.kiosk.id,
        server_url=config.server.url,
        metrics=parts.metrics,
        sync=kiosk.sync,
        client=kiosk.client,
        identity=kiosk.identity,
        logs=logs,
        language=config.kiosk.language,
        high_contrast=config.ui.high_contrast,
        clock=clock,
        wall_clock=wall_clock,
        usb_sticks=mounted_sticks,
        wipe_citizen=kiosk.journey.cancel,
        face_check=kiosk.face_check,
        closers=[logs.uninstall],
    )
