"""``kiosk run``: start the kiosk (the composition root).

Forbids core dumps, loads the config, and starts in two phases. First the welcome screen
(:func:`ui.first_frame.show_first_frame`), then ``READY=1`` to systemd; then
:func:`kiosk.assembly.build_kiosk` makes every part from the config, and the typed
:class:`~kiosk.assembly.Kiosk` goes to the touchscreen UI, which redraws the welcome screen with what the
kiosk now knows. A citizen's tap in between waits in SDL's queue. This is the one place in ``kiosk/``
allowed to import ``ui`` (and pygame), and it does so lazily, inside :func:`run`, so that every other
command works on a machine without a display; the kiosk's own parts (assembly, outbox, journey, devices)
are imported inside :func:`run` too, after the first frame, so that parsing the command line
(``kiosk --help``, any command) does not wait for them.

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
import time
from pathlib import Path
from typing import TYPE_CHECKING

import msgspec

from hal.events import EventQueue
from kiosk.cli import EXIT_OK, add_config_argument
from kiosk.config import Config, ConfigError, load_config
from kiosk.core_dumps import forbid_core_dumps
from kiosk.stop_signals import StopSignals
from kiosk.warm_up import import_lean_storage, import_without

if TYPE_CHECKING:
    from kiosk.assembly import Kiosk, build_kiosk

__all__ = ["Kiosk", "build_kiosk", "register", "run", "simulator_config"]

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


def simulator_config(config: Config) -> Config:
    """``config`` with simulated devices and, without a server key, a throwaway one under the data dir."""
    config = config.simulated()
    if config.server.public_key:
        return config
    path = config.data_path / SIMULATOR_SERVER_KEY
    if path.exists():
        public = path.read_text().split()[0]
    else:
        # Only the simulator's very first start makes the key (and imports the sealing code and, through the
        # record types, the storage library, before the first frame: kiosk.warm_up).
        import_lean_storage()
        from kiosk.sealing import generate_server_keypair

        path.parent.mkdir(parents=True, exist_ok=True)
        public, private = generate_server_keypair()
        # The private half only lets this simulator's own records be opened; kept 0600 all the same.
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(f"{public}\n{private}\n")
        log.info("simulator: made a throwaway server key pair in %s", path)
    server = msgspec.structs.replace(config.server, public_key=public)
    return msgspec.structs.replace(config, server=server)


def run(args: argparse.Namespace) -> int:
    """Start the kiosk and run until it is stopped."""
    # Before anything reads a citizen's answers into memory: a core dump would write them to the card.
    forbid_core_dumps()
    config = load_config(args.config)
    if args.simulate:
        config = simulator_config(config)
    if args.windowed or args.autopilot:
        config = msgspec.structs.replace(config, ui=msgspec.structs.replace(config.ui, fullscreen=False))
    if args.screenshots and not args.autopilot:
        raise ConfigError("--screenshots needs --autopilot")
    sizes = _sizes(args.sizes)
    # pygame's __init__ imports numpy for pygame.surfarray, which the kiosk does not use; without it the
    # welcome screen comes up sooner, and the warm-up imports both after the first frame (kiosk.warm_up).
    import_without("ui", "pkg_resources", "numpy")
    # The composition root is the one place in kiosk/ that imports the UI, and only here, lazily.
    from kiosk.watchdog import Watchdog
    from ui.first_frame import show_first_frame

    clock = None
    if args.autopilot:
        from ui.pilot import FakeClock

        # The autopilot moves time itself (countdowns, the idle warning) instead of waiting for it.
        clock = FakeClock()
    events = EventQueue()
    # Before pygame starts, so that SDL does not turn SIGTERM into a window close a fullscreen kiosk ignores.
    with StopSignals(events):
        watchdog = Watchdog.from_environment()
        # Phase 1: the welcome screen, before the kiosk behind it is built (ui.first_frame).
        first_size = sizes[0] if sizes else None
        first_frame = show_first_frame(config, size=first_size, clock=clock or time.monotonic)
        if not args.autopilot:
            watchdog.ready("starting")
        try:
            # Phase 2: the kiosk's parts; the UI then serves the taps that waited in SDL's queue meanwhile.
            kiosk = _build(config, events, clock)
        except BaseException:
            first_frame.close()
            raise
        try:
            from ui.kiosk_app import run_kiosk

            return (
                run_kiosk(
                    kiosk,
                    first_frame=first_frame,
                    watchdog=watchdog,
                    autopilot=args.autopilot,
                    screenshots=Path(args.screenshots) if args.screenshots else None,
                    sizes=sizes,
                    languages=tuple(code for code in args.languages.split(",") if code),
                    clock=clock,
                )
                or EXIT_OK
            )
        finally:
            kiosk.close()


def _build(config: Config, events: EventQueue, clock) -> Kiosk:
    """Phase 2 of ``kiosk run``: every part of the kiosk, imported and made after the first frame."""
    # Before anything imports sqlite-utils (kiosk.warm_up): without numpy.
    import_lean_storage()
    from kiosk.assembly import build_kiosk

    return build_kiosk(config, events, clock=clock)


def __getattr__(name: str) -> object:
    """``Kiosk`` and ``build_kiosk``, re-exported for the tools that take them from here, imported on use."""
    if name in ("Kiosk", "build_kiosk"):
        from kiosk import assembly

        return getattr(assembly, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


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
