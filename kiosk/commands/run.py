"""``kiosk run``: start the kiosk (the composition root).

Builds everything from the config, in order: devices, outbox, the kiosk's identity, the ingest
client and sync worker, the registration worker, the power policy, the journey; then hands them to
the touchscreen UI. This is the one place in ``kiosk/`` allowed to import ``ui`` (and pygame), and
it does so lazily, inside :func:`run`, so that every other command works on a machine without a
display.

``--simulate`` runs every device on its simulated backend (the camera shows a real face photo, the
signature pad is the Topaz emulator on a pty). Without a server key in the config it makes a
throwaway server key pair under the data directory, so records can be sealed; they then wait in
the outbox, sealed to a key only this simulator holds.

``--autopilot --screenshots DIR`` walks synthetic citizens through every service headless (set
``SDL_VIDEODRIVER=dummy``) and saves a PNG of every screen.
"""

from __future__ import annotations

import argparse
import logging
import os
import threading
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import msgspec

from hal.events import EventQueue
from kiosk.cli import EXIT_OK, add_config_argument
from kiosk.config import Config, ConfigError, load_config
from kiosk.devices import Devices, open_devices
from kiosk.stop_signals import StopSignals

log = logging.getLogger(__name__)

#: Where the simulator keeps its throwaway server key (inside the data directory).
SIMULATOR_SERVER_KEY = "simulator-server.key"


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``run`` command."""
    parser = subparsers.add_parser(
        "run",
        help="start the kiosk on the touchscreen",
        description="Start the kiosk: fullscreen on the device, a window with --windowed.",
    )
    add_config_argument(parser)
    parser.add_argument("--simulate", action="store_true", help="use the simulated backend of every device")
    parser.add_argument("--windowed", action="store_true", help="a window instead of fullscreen (a desktop)")
    parser.add_argument(
        "--autopilot",
        action="store_true",
        help="walk synthetic citizens through every service, then exit (headless demo)",
    )
    parser.add_argument(
        "--screenshots", metavar="DIR", help="with --autopilot: save a PNG of every screen here"
    )
    parser.add_argument(
        "--sizes",
        default="",
        metavar="WxH,...",
        help="with --autopilot: screen sizes to walk (default: the configured size)",
    )
    parser.add_argument(
        "--languages",
        default="id,en",
        metavar="LANG,...",
        help="with --autopilot: languages to walk (default: id,en)",
    )
    parser.set_defaults(func=run)


@dataclass
class Kiosk:
    """Everything the UI is handed, and what must be closed when it ends."""

    config: Config
    events: EventQueue
    devices: Devices
    outbox: Any
    registration: Any
    sync: Any
    journey: Any
    power_policy: Any
    closers: list[Any] = field(default_factory=list)

    def start_workers(self) -> None:
        """Start what runs beside the UI once it serves: the sync worker and the outbox's integrity check."""
        self.sync.start()
        threading.Thread(target=self.outbox.check_in_background, name="outbox-check", daemon=True).start()

    def close(self) -> None:
        """The clean shutdown sequence: stop sync, finish saves, checkpoint and close; each step runs."""
        for step, closer in (
            ("stopping sync", lambda: self.sync.stop()),
            ("finishing saves", lambda: self.registration.close()),
            *(("closing maintenance", closer) for closer in self.closers),
            ("closing devices", lambda: self.devices.close()),
            ("checkpointing the outbox", lambda: self.outbox.checkpoint()),
            ("closing the outbox", lambda: self.outbox.close()),
        ):
            log.info("shutdown: %s", step)
            try:
                closer()
            except Exception:  # noqa: BLE001 - closing must reach everything
                log.exception("shutdown: %s failed", step)
        log.info("shutdown: done")


def simulator_config(config: Config) -> Config:
    """``config`` with simulated devices and, without a server key, a throwaway one under the data dir."""
    config = config.simulated()
    if config.server.public_key:
        return config
    from kiosk.sealing import generate_server_keypair

    path = config.data_path / SIMULATOR_SERVER_KEY
    if path.exists():
        public = path.read_text().split()[0]
    else:
        path.parent.mkdir(parents=True, exist_ok=True)
        public, private = generate_server_keypair()
        # The private half only lets this simulator's own records be opened; kept 0600 all the same.
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(f"{public}\n{private}\n")
        log.info("simulator: made a throwaway server key pair in %s", path)
    server = msgspec.structs.replace(config.server, public_key=public)
    return msgspec.structs.replace(config, server=server)


def build_kiosk(
    config: Config, events: EventQueue | None = None, *, devices: Devices | None = None, clock=None
) -> Kiosk:
    """Make every part of the kiosk from ``config`` (no UI yet).

    Args:
        config: The (possibly simulated) config.
        events: The main loop's queue; a new one when None.
        devices: Devices opened by the caller (tests hand in emulators); opened from the config when None.
        clock: Monotonic clock for the journey's idle timers (tests inject a fake one).
    """
    import time

    from kiosk.journey import Journey
    from kiosk.maintenance import take_snapshot
    from kiosk.outbox import OUTBOX_FILENAME, Outbox
    from kiosk.power_policy import PowerPolicy, ShutdownSequence, journey_activity
    from kiosk.regions import districts_of
    from kiosk.registration import Registration
    from kiosk.sealing import KioskIdentity
    from kiosk.services import load_services
    from kiosk.sync import IngestClient, SyncWorker

    events = events or EventQueue()
    data = config.data_path
    data.mkdir(parents=True, exist_ok=True)
    if devices is None:
        with warnings.catch_warnings(record=True) as fallbacks:
            warnings.simplefilter("always")
            devices = open_devices(config, events)
        for warning in fallbacks:
            log.warning("%s", warning.message)
    # The integrity check runs once the kiosk serves (start_workers): before the first frame it would cost
    # seconds on a cold, full queue after a power cut, exactly when citizens are waiting.
    outbox = Outbox(data / OUTBOX_FILENAME, check_on_open=False)
    identity = KioskIdentity.load_or_create(data / "keys")
    client = IngestClient.from_config(config)
    started_at = time.monotonic()

    def health_snapshot() -> dict:
        # Called on the sync worker's thread: reads health and counts only, no personal data.
        return take_snapshot(
            devices=devices,
            outbox=outbox,
            sync=sync,
            power=devices.power,
            data_dir=data,
            started_at=started_at,
        ).as_dict()

    sync = SyncWorker(outbox, client, settings=config.sync, events=events, heartbeat=health_snapshot)
    registration = Registration(
        outbox=outbox,
        identity=identity,
        server_public_key=config.server.public_key,
        kiosk_id=config.kiosk.id,
        events=events,
        wake_sync=sync.wake,
    )
    journey = Journey(
        load_services(config.kiosk.services_dir),
        districts=districts_of(config.kiosk.regency),
        idle_warning_s=config.ui.idle_warning_s,
        idle_reset_s=config.ui.idle_reset_s,
        default_language=config.kiosk.language,
        clock=clock or time.monotonic,
    )
    power = devices.power
    policy = PowerPolicy(
        config.power,
        shutdown=ShutdownSequence(
            config.power.shutdown_command,
            saves=registration,
            sync=sync,
            databases={"outbox": outbox},
            power=power if hasattr(power, "cut_power_after_halt") else None,
        ),
        reading=power.reading if hasattr(power, "reading") else None,
        activity=lambda: journey_activity(journey),
        cancel_session=journey.cancel,
        clock=clock or time.monotonic,
    )
    return Kiosk(config, events, devices, outbox, registration, sync, journey, policy)


def run(args: argparse.Namespace) -> int:
    """Start the kiosk and run until it is stopped."""
    config = load_config(args.config)
    if args.simulate:
        config = simulator_config(config)
    if args.windowed or args.autopilot:
        config = msgspec.structs.replace(config, ui=msgspec.structs.replace(config.ui, fullscreen=False))
    if args.screenshots and not args.autopilot:
        raise ConfigError("--screenshots needs --autopilot")
    # The composition root is the one place in kiosk/ that imports the UI, and only here, lazily.
    from ui.kiosk_app import run_kiosk

    clock = None
    if args.autopilot:
        from ui.pilot import FakeClock

        # The autopilot moves time itself (countdowns, the idle warning) instead of waiting for it.
        clock = FakeClock()
    events = EventQueue()
    # Before pygame starts, so that SDL does not turn SIGTERM into a window close a fullscreen kiosk ignores.
    with StopSignals(events):
        kiosk = build_kiosk(config, events, clock=clock)
        try:
            return (
                run_kiosk(
                    kiosk,
                    autopilot=args.autopilot,
                    screenshots=Path(args.screenshots) if args.screenshots else None,
                    sizes=_sizes(args.sizes),
                    languages=tuple(code for code in args.languages.split(",") if code),
                    clock=clock,
                )
                or EXIT_OK
            )
        finally:
            kiosk.close()


def _sizes(text: str) -> tuple[tuple[int, int], ...]:
    sizes = []
    for part in filter(None, text.split(",")):
        try:
            width, height = (int(n) for n in part.lower().split("x"))
        except ValueError:
            raise ConfigError(f"--sizes {part}: write sizes as WIDTHxHEIGHT, e.g. 800x480") from None
        if not (320 <= width <= 7680 and 240 <= height <= 4320):
            raise ConfigError(f"--sizes {part}: out of range")
        sizes.append((width, height))
    return tuple(sizes)
