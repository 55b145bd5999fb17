"""The kiosk assembled in one place: every part it runs on, made from the config and handed over typed.

:func:`build_kiosk` makes, in order: the devices (each kind's null object where one is switched off or
cannot be opened), the outbox, the kiosk's identity, the ingest client and the sync worker, the registration
worker, the journey, the power policy, the :class:`~kiosk.state.KioskState`, and the maintenance parts
(store, session, metrics and their recorder). ``kiosk run``, the simulator and the benchmarks call it; the
UI receives the :class:`Kiosk` it returns and builds nothing of its own. The smaller functions
(:func:`open_outbox`, :func:`ingest_client`, :func:`kiosk_identity`) serve the commands that need one part::

    kiosk = build_kiosk(load_config(path), EventQueue())
    kiosk.start_workers()          # sync, the outbox's integrity check, the metrics recorder
    ...                            # the UI runs, feeding kiosk.state the events
    kiosk.close()                  # the clean shutdown sequence

Nothing else in kiosk/ constructs an :class:`~kiosk.outbox.Outbox`, a :class:`~kiosk.sync.SyncWorker` or an
:class:`~kiosk.sync.IngestClient` (tests/test_architecture.py checks it).
"""

from __future__ import annotations

import logging
import threading
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field

from hal.events import EventQueue
from kiosk.config import Config
from kiosk.devices import Devices, open_devices
from kiosk.face_check import FaceCheck, FaceCheckProcess, InProcessFaceCheck
from kiosk.journey import Journey
from kiosk.maintenance import (
    MaintenanceSession,
    MaintenanceStore,
    MaintenanceStoreError,
    Metrics,
    SystemCommands,
    queue_and_battery,
    take_snapshot,
)
from kiosk.maintenance.recorder import MetricsRecorder
from kiosk.memory import hand_back_large_blocks
from kiosk.outbox import Outbox
from kiosk.power_policy import PowerPolicy, ShutdownSequence, SupportsCheckpoint, journey_activity
from kiosk.registration import Registration
from kiosk.sealing import KioskIdentity
from kiosk.service_notices import ServiceNotices
from kiosk.state import KioskState
from kiosk.sync import IngestClient, SyncWorker

log = logging.getLogger(__name__)

#: The kiosk's key directory, inside the data directory.
KEY_DIR = "keys"


@dataclass
class MaintenanceParts:
    """What maintenance mode works on, made once with the kiosk.

    Attributes:
        store: The maintenance database (audit log, metrics, PIN lockout).
        session: The technician's session over it (PIN, lockout, audit, system commands).
        metrics: The metrics table the 24-hour chart reads.
        recorder: The thread that fills the metrics table (started with the kiosk's workers).
    """

    store: MaintenanceStore
    session: MaintenanceSession
    metrics: Metrics
    recorder: MetricsRecorder


@dataclass
class Kiosk:
    """Everything the kiosk runs on; the UI is handed this and builds nothing of its own.

    Attributes:
        config: The (possibly simulated) config.
        events: The main loop's queue: every thread posts here.
        devices: The four devices (null objects where one is switched off or broken).
        outbox: The queue of sealed records.
        identity: The kiosk's Ed25519 signing key (records, receipts, USB bundles).
        client: The ingest client (the sync worker and the maintenance probe share it; it is thread-safe).
        sync: The sync worker.
        registration: Seals and stores a confirmed journey on its own thread.
        journey: The citizen journey's state machine.
        power_policy: Decides when the kiosk stops serving and shuts down.
        state: Events turned into capabilities and status; the shutdown path goes through it.
        face_check: Makes the face-check worker for a camera; its child process runs while a citizen needs
            it (:class:`~kiosk.face_check.FaceCheckProcess`).
        maintenance: The maintenance parts, or None when their database cannot be opened (the kiosk then
            serves citizens without maintenance mode; :attr:`maintenance_problem` says why).
        maintenance_problem: Why there is no maintenance mode ("" when there is).
        started_at: When the kiosk was built, on the monotonic clock (uptimes).
    """

    config: Config
    events: EventQueue
    devices: Devices
    outbox: Outbox
    identity: KioskIdentity
    client: IngestClient
    sync: SyncWorker
    registration: Registration
    journey: Journey
    power_policy: PowerPolicy
    state: KioskState
    face_check: FaceCheck
    maintenance: MaintenanceParts | None
    maintenance_problem: str = ""
    started_at: float = field(default_factory=time.monotonic)
    #: What the UI asks to be closed with the kiosk (see :meth:`on_close`).
    closers: list[Callable[[], object]] = field(default_factory=list)

    def on_close(self, closer: Callable[[], object]) -> None:
        """Have :meth:`close` call ``closer`` after the saves are finished (the UI's maintenance mode)."""
        self.closers.append(closer)

    def start_workers(self) -> None:
        """Start what runs beside the UI once it serves: sync, the outbox's integrity check, the metrics."""
        self.sync.start()
        threading.Thread(target=self.outbox.check_in_background, name="outbox-check", daemon=True).start()
        if self.maintenance is not None:
            self.maintenance.recorder.start()

    def health_snapshot(self) -> dict:
        """The heartbeat's health snapshot: devices, queue, battery, PIN failures; never personal data.

        Called on the sync worker's thread: it reads health and counts only.
        """
        return _health_snapshot(
            self.config, self.devices, self.outbox, self.sync, self.maintenance, self.started_at
        )

    def close(self) -> None:
        """The clean shutdown sequence: stop sync, finish saves, checkpoint and close; each step runs."""
        for step, closer in self._shutdown_steps():
            log.info("shutdown: %s", step)
            try:
                closer()
            except Exception:  # noqa: BLE001 - closing must reach everything
                log.exception("shutdown: %s failed", step)
        log.info("shutdown: done")

    def _close_face_check(self) -> None:
        # Bounded: the child has its grace to finish a check, then is killed; this waits for the reaping.
        self.face_check.close().result(timeout=30)

    def _shutdown_steps(self) -> list[tuple[str, Callable[[], object]]]:
        steps: list[tuple[str, Callable[[], object]]] = [
            ("stopping sync", lambda: self.sync.stop()),
            ("closing the ingest client", self.client.close),
            ("finishing saves", self.registration.close),
            *(("closing the UI's parts", closer) for closer in self.closers),
            ("stopping the face check", self._close_face_check),
        ]
        if self.maintenance is not None:
            parts = self.maintenance
            steps += [
                ("stopping the metrics", parts.recorder.stop),
                ("closing maintenance", parts.store.close),
            ]
        return [
            *steps,
            ("closing devices", self.devices.close),
            ("checkpointing the outbox", self.outbox.checkpoint),
            ("closing the outbox", self.outbox.close),
        ]


# -- the parts one command needs ------------------------------------------------------------------------
def open_outbox(config: Config, *, check_on_open: bool = True) -> Outbox:
    """The outbox in the config's data directory, with its ``[outbox]`` size limit and session headroom."""
    return Outbox.from_config(config, check_on_open=check_on_open)


def ingest_client(config: Config) -> IngestClient:
    """The ingest client for the config's ``[server]`` section.

    Raises:
        ConfigError: the token file cannot be read, or the URL is unusable.
    """
    return IngestClient.from_config(config)


def kiosk_identity(config: Config, *, create: bool = True) -> KioskIdentity:
    """The kiosk's signing key from the data directory, made on first use when ``create``."""
    directory = config.data_path / KEY_DIR
    return KioskIdentity.load_or_create(directory) if create else KioskIdentity.load(directory)


def open_configured_devices(config: Config, events: EventQueue) -> Devices:
    """The config's devices; a fallback to a simulated device is logged as a warning."""
    with warnings.catch_warnings(record=True) as fallbacks:
        warnings.simplefilter("always")
        devices = open_devices(config, events)
    for warning in fallbacks:
        log.warning("%s", warning.message)
    return devices


# -- the whole kiosk ---------------------------------------------------------------------------------------
def build_kiosk(
    config: Config,
    events: EventQueue | None = None,
    *,
    devices: Devices | None = None,
    clock: Callable[[], float] | None = None,
    wall_clock: Callable[[], float] = time.time,
    face_check: FaceCheck | None = None,
) -> Kiosk:
    """Make every part of the kiosk from ``config``: no UI, no thread started (:meth:`Kiosk.start_workers`).

    Args:
        config: The (possibly simulated) config.
        events: The main loop's queue; a new one when None.
        devices: Devices opened by the caller (tests hand in emulators); opened from the config when None.
        clock: Monotonic clock for the journey's idle timers, the power policy and the maintenance session
            (the autopilot and tests inject a fake one).
        wall_clock: Seconds since the epoch (the maintenance database's timestamps).
        face_check: The face check of the photo step; default a :class:`~kiosk.face_check.FaceCheckProcess`
            (OpenCV in a child process while a citizen needs it, never in the kiosk's own).
    """
    clock = clock or time.monotonic
    started_at = time.monotonic()
    # Before the devices and the UI allocate their frames and surfaces: large blocks go back to the OS.
    hand_back_large_blocks()
    events = events or EventQueue()
    config.data_path.mkdir(parents=True, exist_ok=True)
    if devices is None:
        devices = open_configured_devices(config, events)
    # The integrity check runs once the kiosk serves (start_workers): before the first frame it would cost
    # seconds on a cold, full queue after a power cut, exactly when citizens are waiting.
    outbox = open_outbox(config, check_on_open=False)
    identity = kiosk_identity(config)
    client = ingest_client(config)
    maintenance, problem = _maintenance(config, outbox, devices, clock=clock, wall_clock=wall_clock)

    def heartbeat() -> dict:
        return _health_snapshot(config, devices, outbox, sync, maintenance, started_at)

    notices = ServiceNotices()
    sync = SyncWorker(
        outbox,
        client,
        settings=config.sync,
        events=events,
        heartbeat=heartbeat,
        on_heartbeat_answer=notices.update,
    )
    registration = Registration(
        outbox=outbox,
        identity=identity,
        server_public_key=config.server.public_key,
        kiosk_id=config.kiosk.id,
        events=events,
        wake_sync=sync.wake,
    )
    journey = _journey(config, clock, notices)
    policy = _power_policy(config, devices, outbox, sync, registration, journey, maintenance, clock)
    return Kiosk(
        config=config,
        events=events,
        devices=devices,
        outbox=outbox,
        identity=identity,
        client=client,
        sync=sync,
        registration=registration,
        journey=journey,
        power_policy=policy,
        state=KioskState(devices, policy, storage_room=outbox.room),
        face_check=face_check if face_check is not None else FaceCheckProcess(),
        maintenance=maintenance,
        maintenance_problem=problem,
        started_at=started_at,
    )


#: The face check in the calling process: the default of the views made without a kiosk (tests, screenshots).
face_check: FaceCheck = InProcessFaceCheck()


def _health_snapshot(
    config: Config,
    devices: Devices,
    outbox: Outbox,
    sync: SyncWorker,
    maintenance: MaintenanceParts | None,
    started_at: float,
) -> dict:
    snapshot = take_snapshot(
        devices=devices,
        outbox=outbox,
        sync=sync,
        power=devices.power,
        data_dir=config.data_path,
        started_at=started_at,
    ).as_dict()
    if maintenance is not None:
        # Failed PIN attempts and the lockout: a guessing technician (or thief) shows at the office.
        snapshot["pin"] = maintenance.session.lockout.heartbeat()
    return snapshot


def _journey(config: Config, clock: Callable[[], float], notices: ServiceNotices) -> Journey:
    from kiosk.regions import districts_of
    from kiosk.services import load_services

    return Journey(
        load_services(config.kiosk.services_dir),
        districts=districts_of(config.kiosk.regency),
        idle_warning_s=config.ui.idle_warning_s,
        idle_reset_s=config.ui.idle_reset_s,
        default_language=config.kiosk.language,
        clock=clock,
        service_notices=notices,
    )


def _maintenance(
    config: Config,
    outbox: Outbox,
    devices: Devices,
    *,
    clock: Callable[[], float],
    wall_clock: Callable[[], float],
) -> tuple[MaintenanceParts | None, str]:
    """The maintenance parts, or None and why (a damaged data partition must not stop the citizens)."""
    data = config.data_path
    try:
        store = MaintenanceStore.in_data_dir(data, clock=wall_clock)
    except MaintenanceStoreError as exc:
        log.error("maintenance mode is unavailable: %s", exc)
        return None, str(exc)
    session = MaintenanceSession.open(
        data,
        config.maintenance,
        commands=SystemCommands.from_config(config),
        # Before a reboot or shutdown: fold both databases' write-ahead logs into their files.
        before_power_off=lambda: (outbox.checkpoint(), store.checkpoint()),
        clock=clock,
        wall_clock=wall_clock,
        store=store,
    )
    metrics = Metrics(store, interval_s=config.maintenance.metrics_interval_s, clock=wall_clock)
    recorder = MetricsRecorder(metrics, queue_and_battery(outbox, devices.power))
    return MaintenanceParts(store, session, metrics, recorder), ""


def _power_policy(
    config: Config,
    devices: Devices,
    outbox: Outbox,
    sync: SyncWorker,
    registration: Registration,
    journey: Journey,
    maintenance: MaintenanceParts | None,
    clock: Callable[[], float],
) -> PowerPolicy:
    databases: dict[str, SupportsCheckpoint] = {"outbox": outbox}
    if maintenance is not None:
        databases["maintenance"] = maintenance.store
    return PowerPolicy(
        config.power,
        shutdown=ShutdownSequence(
            config.power.shutdown_command,
            saves=registration,
            sync=sync,
            databases=databases,
            power=devices.power,
        ),
        reading=devices.power.reading,
        activity=lambda: journey_activity(journey),
        cancel_session=journey.cancel,
        clock=clock,
    )
