"""A kiosk with maintenance mode, built from real parts, for the maintenance UI tests and screenshots.

Real SQLite files in a temporary directory (the maintenance database with its audit log, lockout and metrics;
the outbox), the simulated devices, sealed records from the ingest lab, a real citizen journey view under
the corner, the real app loop and the test pilot under the dummy video driver. Only the restart / reboot /
shutdown commands are recorded instead of run, and time is fake.
"""

from __future__ import annotations

import logging
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pygame
from ingest_lab import IngestLab

from hal.camera.simulated import SimulatedCamera
from hal.events import EventQueue
from hal.power import SimulatedUps
from hal.printer import SimulatedPrinter
from hal.settings import CameraSettings, PowerSettings, SignaturePadSettings
from kiosk.config import MaintenanceSettings
from kiosk.devices import Devices
from kiosk.journey import Journey
from kiosk.maintenance import (
    AuditEntry,
    MaintenanceSession,
    MaintenanceStore,
    Metrics,
    SystemCommands,
    TechnicianPin,
)
from kiosk.outbox import Outbox
from kiosk.regions import districts_of
from kiosk.services import load_services
from kiosk.state import KioskState
from tests.ui.conftest import quiet_power_policy
from ui.app import App, open_display
from ui.journey_view import JourneyView
from ui.maintenance import KioskScenes, MaintenanceMode, RecentLogs
from ui.maintenance.switch import HOLD_S
from ui.pilot import FakeClock, Pilot
from ui.text import TextRenderer, find_fonts

PIN = "739105"
WRONG_PIN = "111222"
WALL_START = 1_700_000_000.0


class RecordingRunner:
    """Stands in for ``subprocess.run`` behind restart / reboot / shutdown: records each command and answers
    0, or 1 with ``fail_with`` as its error output, or raises ``cannot_run`` (a program that is not there)."""

    def __init__(self) -> None:
        self.commands: list[list[str]] = []
        self.fail_with = ""
        self.cannot_run: OSError | None = None

    def __call__(self, command, **kwargs) -> subprocess.CompletedProcess:
        self.commands.append(list(command))
        if self.cannot_run is not None:
            raise self.cannot_run
        if self.fail_with:
            return subprocess.CompletedProcess(command, 1, "", self.fail_with)
        return subprocess.CompletedProcess(command, 0, "", "")


@dataclass
class Rig:
    """One kiosk in maintenance-test shape (see the module docstring)."""

    root: Path
    size: tuple[int, int] = (1280, 800)
    pad: bool = False
    settings: MaintenanceSettings = field(
        default_factory=lambda: MaintenanceSettings(
            idle_exit_s=300.0, max_pin_failures=5, lockout_initial_s=60.0
        )
    )

    def __post_init__(self) -> None:
        self.clock = FakeClock(10_000.0)
        self.wall = FakeClock(WALL_START)
        self.events = EventQueue()
        self.data = self.root / "data"
        TechnicianPin.in_data_dir(self.data).set(PIN)
        self.store = MaintenanceStore.in_data_dir(self.data, clock=self.wall)
        self.runner = RecordingRunner()
        self.session = MaintenanceSession.open(
            self.data,
            self.settings,
            commands=SystemCommands(
                restart=("systemctl", "restart", "--no-block", "dukcapil-kiosk.service"),
                reboot=("systemctl", "reboot"),
                shutdown=("systemctl", "poweroff"),
                runner=self.runner,
            ),
            clock=self.clock,
            wall_clock=self.wall,
            store=self.store,
        )
        self.metrics = Metrics(self.store, clock=self.wall)
        self.lab = IngestLab.create(self.root / "lab")
        self.outbox = Outbox(self.data / "outbox.sqlite3", clock=self.wall)
        self.camera = SimulatedCamera(CameraSettings(backend="simulated"), self.events, frame_interval=0.05)
        self.printer = SimulatedPrinter(self.root / "receipts", events=self.events)
        self.ups = SimulatedUps(PowerSettings(backend="simulated"), self.events, poll=False)
        self.devices = Devices(camera=self.camera, power=self.ups, printer=self.printer)
        if self.pad:
            from hal.signature_pad.simulated_pad import SimulatedSignaturePad

            self.devices.signature_pad = SimulatedSignaturePad(
                SignaturePadSettings(backend="simulated"), self.events
            )
        self.signature_pad = self.devices.signature_pad
        # The log page shows what the kiosk logs at INFO and above, as on a kiosk.
        self.logs = RecentLogs(capacity=200).install()
        self._root_level = logging.getLogger().level
        logging.getLogger().setLevel(logging.INFO)
        self.server: Any = None
        self.sync: Any = None
        self._server_cm: Any = None
        self.stick = self.root / "usb-stick"
        self.stick.mkdir()
        self.usb_sticks: list[Path] = [self.stick]
        self.client = self.lab.client("http://127.0.0.1:9", timeout=2.0)  # nothing listens on port 9
        text = TextRenderer(find_fonts())
        self.journey = Journey(load_services(), districts=districts_of("71.10"), clock=self.clock)
        self.state = KioskState(self.devices, quiet_power_policy(self.devices, self.clock))
        self.view = JourneyView(
            self.journey,
            state=self.state,
            text=text,
            clock=self.clock,
            devices=self.devices,
            events=self.events,
            kiosk_id="KIOSK-TEST-01",
        )
        self.mode = MaintenanceMode(
            session=self.session,
            text=text,
            devices=self.devices,
            outbox=self.outbox,
            events=self.events,
            data_dir=self.data,
            kiosk_id="KIOSK-TEST-01",
            server_url="http://127.0.0.1:9",
            metrics=self.metrics,
            sync=None,
            client=self.client,
            identity=self.lab.identity,
            logs=self.logs,
            language="en",
            clock=self.clock,
            wall_clock=self.wall,
            usb_sticks=lambda: list(self.usb_sticks),
            wipe_citizen=self.journey.cancel,
        )
        open_display(self.size, fullscreen=False)
        self.scenes = KioskScenes(self.view, self.mode.scene)
        self.app = App(self.scenes, self.events, clock=self.clock, state=self.state)
        self.scenes.attach(self.app)
        self.pilot = Pilot(self.app, self.clock)

    # -- parts ----------------------------------------------------------------------------------
    def serve(self) -> None:
        """Start the reference ingest server and point the maintenance client at it."""
        self._server_cm = self.lab.server()
        self.server = self._server_cm.__enter__()
        self.client.close()
        self.client = self.lab.client(self.server.url, timeout=5.0)
        self.mode.client = self.client
        self.mode.server_url = self.server.url

    def start_sync_worker(self) -> None:
        """Start a real sync worker whose server cannot be reached (a rural office's usual morning): it fails
        once, then backs off for an hour, so it shows its state without competing with "send now"."""
        from kiosk.config import SyncSettings
        from kiosk.sync import SyncWorker

        settings = SyncSettings(backoff_initial_s=3600.0, backoff_max_s=3600.0, poll_interval_s=3600.0)
        self.worker_client = self.lab.client("http://127.0.0.1:9", timeout=2.0)
        self.sync = SyncWorker(self.outbox, self.worker_client, settings=settings, events=self.events)
        self.mode.sync = self.sync
        self.sync.start()
        self.pilot.wait_until(lambda: self.sync.status().state == "waiting", what="the worker's failure")

    def enqueue(self, count: int) -> list[str]:
        """Seal ``count`` synthetic records into the outbox."""
        return self.lab.enqueue(self.outbox, count)

    def kill(self, record_id: str, reason: str) -> None:
        """Have the server "reject" a record for good (as the sync worker would record it)."""
        item = self.outbox.claim_next(due_only=False)
        while item is not None and item.record_id != record_id:
            self.outbox.release(item.record_id)
            item = self.outbox.claim_next(due_only=False)
        assert item is not None
        self.outbox.mark_dead(record_id, reason)

    def audit(self) -> list[AuditEntry]:
        """The audit log, oldest first."""
        return list(reversed(self.session.audit.recent(10_000)))

    def audit_actions(self) -> list[tuple[str, str]]:
        """(action, outcome) of every audit line, oldest first."""
        return [(entry.action.value, entry.outcome.value) for entry in self.audit()]

    # -- gestures -------------------------------------------------------------------------------
    def hold(self, pos: tuple[int, int], seconds: float) -> None:
        """Put a finger down at ``pos``, keep it there for ``seconds`` (fake time) and lift it."""
        self.pilot.hold(pos, seconds)

    def open_pin_pad(self) -> None:
        """The hidden entry: hold the top-left corner."""
        self.hold((8, 8), HOLD_S + 0.1)
        assert self.pilot.exists("pin.pad"), self.pilot.ids()

    def type_pin(self, pin: str) -> None:
        """Tap the digits of ``pin`` on the pad and "Enter", and wait for the check."""
        for digit in pin:
            self.pilot.tap(f"pin.pad.key.{digit}")
        self.pilot.tap("pin.enter")
        page = self.scenes.maintenance.pages["pin"]
        self.pilot.wait_until(lambda: not page.busy, what="the PIN check")

    def enter(self) -> None:
        """Open the pad and enter with the right PIN."""
        self.open_pin_pad()
        self.type_pin(PIN)
        assert self.session.active
        self.wait_readings()

    def wait_readings(self) -> None:
        """Wait until the dashboard's figures were read."""
        self.pilot.wait_until(
            lambda: self.scenes.maintenance.readings is not None, what="the dashboard figures"
        )

    def wait_job(self, name: str) -> Any:
        """Wait until the maintenance job ``name`` ran, and return it."""
        scene = self.scenes.maintenance
        self.pilot.wait_until(
            lambda: scene.job(name).state in ("done", "failed"), timeout=20.0, what=f"job {name}"
        )
        return scene.job(name)

    def close(self) -> None:
        """Stop everything that runs and close every file."""
        scene = self.scenes.maintenance
        if scene is not None:
            scene.leave("test over")
        self.app.close()
        self.camera.close()
        self.ups.close()
        self.printer.close()
        if self.signature_pad is not None:
            self.signature_pad.close()
        self.client.close()
        if self.sync is not None:
            self.sync.stop()
            self.worker_client.close()
        if self._server_cm is not None:
            self._server_cm.__exit__(None, None, None)
        self.logs.uninstall()
        logging.getLogger().setLevel(self._root_level)
        self.outbox.close()
        self.store.close()
        pygame.display.quit()
