"""What maintenance mode works with, made once when the kiosk starts, and the scenes it opens.

:func:`open_maintenance` builds a :class:`MaintenanceMode` from the kiosk's parts (``kiosk run``'s
:class:`~kiosk.commands.run.Kiosk`): the maintenance session over the data directory's PIN and audit
database, the metrics table and the thread that fills it, an ingest client for the network probe and "send
now", the kiosk's identity for USB bundles, and the in-memory log ring buffer. Its
:meth:`MaintenanceMode.scene` is what :class:`~ui.maintenance.switch.KioskScenes` calls on every long press.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from hal.device import Device
from hal.events import EventQueue
from kiosk.maintenance import MaintenanceSession, MaintenanceStore, Metrics, SystemCommands, queue_and_battery
from kiosk.maintenance.recorder import MetricsRecorder
from ui.i18n import DEFAULT_LANGUAGE
from ui.maintenance.log_lines import RecentLogs
from ui.maintenance.scene import MaintenanceScene
from ui.maintenance.usb_sticks import mounted_sticks
from ui.text import TextRenderer

log = logging.getLogger(__name__)


@dataclass
class MaintenanceMode:
    """Everything the maintenance screens work with.

    Attributes:
        session: The technician's session (PIN, lockout, audit, idle exit, system commands).
        text: The text renderer (the citizen view's, so its cache is shared).
        devices: ``name -> device`` in dashboard order; None for a device switched off.
        outbox: The outbox (None when it could not be opened).
        events: The main loop's queue (progress of background work travels on it).
        data_dir: The data directory (its partition's free space is shown).
        kiosk_id: This kiosk's id.
        server_url: The ingest server's address (shown with the network probe).
        metrics: The metrics table the 24-hour chart reads.
        sync: The sync worker (its status is shown).
        client: An ingest client for the network probe and "send now".
        identity: The kiosk's signing key, for USB bundles.
        logs: The recent log lines.
        language: The language the screens open in.
        high_contrast: The high-contrast theme.
        clock: Monotonic seconds (the session's idle clock; the app's clock).
        wall_clock: Seconds since the epoch.
        started_at: When the kiosk app started, on ``clock``.
        usb_sticks: Lists the mounted USB sticks.
        wipe_citizen: Wipes the citizen session open behind the PIN pad (the journey's ``cancel``).
        photo_quality: Makes the face-check worker for the camera test, like the citizen's photo screen
            (``photo_quality(camera, on_result)``; default :class:`kiosk.photo_quality.PhotoQualityWorker`).
        closers: Called by :meth:`close`.
    """

    session: MaintenanceSession
    text: TextRenderer
    devices: Mapping[str, Device | None]
    outbox: Any
    events: EventQueue | None
    data_dir: Path
    kiosk_id: str
    server_url: str = ""
    metrics: Metrics | None = None
    sync: Any = None
    client: Any = None
    identity: Any = None
    logs: RecentLogs | None = None
    language: str = DEFAULT_LANGUAGE
    high_contrast: bool = False
    clock: Callable[[], float] = time.monotonic
    wall_clock: Callable[[], float] = time.time
    started_at: float | None = None
    usb_sticks: Callable[[], list[Path]] = mounted_sticks
    wipe_citizen: Callable[[], object] | None = None
    photo_quality: Callable[..., Any] | None = None
    closers: list[Callable[[], object]] = field(default_factory=list)

    def __post_init__(self) -> None:
        if self.started_at is None:
            self.started_at = self.clock()

    def scene(self, leave: Callable[[], None]) -> MaintenanceScene:
        """A new maintenance scene, starting at the PIN pad; it calls ``leave()`` when it is done."""
        return MaintenanceScene(self, leave)

    def close(self) -> None:
        """Stop the metrics thread, detach the log buffer, close the client and the database."""
        for closer in self.closers:
            try:
                closer()
            except Exception:  # noqa: BLE001 - closing must reach everything
                log.exception("closing maintenance mode: a step failed")


def open_maintenance(
    kiosk: Any,
    *,
    text: TextRenderer,
    clock: Callable[[], float] = time.monotonic,
    wall_clock: Callable[[], float] = time.time,
    record_metrics: bool = True,
) -> MaintenanceMode:
    """Maintenance mode for the kiosk ``kiosk run`` built (its config, devices, outbox, sync, journey).

    Raises:
        kiosk.maintenance.MaintenanceStoreError: The maintenance database cannot be opened (the data
            partition is unwritable, say); the kiosk can serve citizens without maintenance mode then.
    """
    from kiosk.sealing import KioskIdentity
    from kiosk.sync import IngestClient

    config = kiosk.config
    data = config.data_path
    closers: list[Callable[[], object]] = []
    store = MaintenanceStore.in_data_dir(data, clock=wall_clock)
    session = MaintenanceSession.open(
        data,
        config.maintenance,
        commands=SystemCommands.from_config(config),
        # Before a reboot or shutdown: fold both databases' write-ahead logs into their files.
        before_power_off=lambda: (kiosk.outbox.checkpoint(), store.checkpoint()),
        clock=clock,
        wall_clock=wall_clock,
        store=store,
    )
    devices = dict(kiosk.devices)
    metrics = Metrics(store, interval_s=config.maintenance.metrics_interval_s, clock=wall_clock)
    if record_metrics:
        power = devices.get("power")
        recorder = MetricsRecorder(
            metrics, queue_and_battery(kiosk.outbox, power if hasattr(power, "reading") else None)
        )
        recorder.start()
        closers.append(recorder.stop)
    logs = RecentLogs().install()
    closers.append(logs.uninstall)
    client = None
    try:
        client = IngestClient.from_config(config)
        closers.append(client.close)
    except Exception as exc:  # noqa: BLE001 - the probe page then says the server is not configured
        log.warning("maintenance: no ingest client (%s)", exc)
    identity = None
    try:
        identity = KioskIdentity.load(data / "keys")
    except Exception as exc:  # noqa: BLE001 - the export then says why it cannot sign bundles
        log.warning("maintenance: the kiosk key cannot be read (%s)", exc)
    closers.append(store.close)
    return MaintenanceMode(
        session=session,
        text=text,
        devices=devices,
        outbox=kiosk.outbox,
        events=kiosk.events,
        data_dir=data,
        kiosk_id=config.kiosk.id,
        server_url=config.server.url,
        metrics=metrics,
        sync=kiosk.sync,
        client=client,
        identity=identity,
        logs=logs,
        language=config.kiosk.language,
        high_contrast=config.ui.high_contrast,
        clock=clock,
        wall_clock=wall_clock,
        usb_sticks=mounted_sticks,
        wipe_citizen=kiosk.journey.cancel,
        closers=closers,
    )
