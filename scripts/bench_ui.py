#!/usr/bin/env python3
"""Benchmark of the touchscreen UI under SDL's dummy driver: prints figures, judges nothing.

- start-up: from nothing to the first welcome frame (display, fonts, services, journey, first draw);
- per screen, at 1280 x 800 and 800 x 480: p50 / p99 time of a full frame (blit of the cached
  widget tree and flip) and of a rebuild (widgets made again after a change, texts from the cache);
- idle CPU share on the welcome screen over 10 s, the loop running as on the kiosk (sleeping in
  ``pygame.event.wait``; the attract loop changes its sentence every few seconds);
- peak memory (max RSS) of the process.

    python scripts/bench_ui.py [--idle-seconds 10] [--frames 200]
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import sys
import time
from pathlib import Path

os.environ.setdefault("SDL_VIDEODRIVER", "dummy")
os.environ.setdefault("SDL_AUDIODRIVER", "dummy")
os.environ.setdefault("PYGAME_HIDE_SUPPORT_PROMPT", "1")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

STARTED = time.perf_counter()

import datetime  # noqa: E402
import tempfile  # noqa: E402

import pygame  # noqa: E402

from hal.events import EventQueue  # noqa: E402
from kiosk.assembly import build_kiosk  # noqa: E402
from kiosk.config import parse_config  # noqa: E402
from kiosk.events import RecordSaved  # noqa: E402
from kiosk.journey import Step  # noqa: E402
from ui.app import App, open_display  # noqa: E402
from ui.autopilot import Autopilot  # noqa: E402
from ui.citizens import citizen_values  # noqa: E402
from ui.journey_view import JourneyView  # noqa: E402
from ui.pilot import FakeClock, Pilot  # noqa: E402
from ui.text import TextRenderer, find_fonts  # noqa: E402


class InstantRegistration:
    """Answers a save at once, so the walk measures the UI and not the disk."""

    def __init__(self, events: EventQueue) -> None:
        self.events = events

    def submit(self, request) -> None:
        self.events.post(
            RecordSaved(reference="7KQ2-M9XD-4RA", record_id="9b2f4e1c-0000-4000-8000-000000000001")
        )


#: The benchmark kiosk's data directory (keys, outbox), removed when the process ends.
_DATA = tempfile.TemporaryDirectory(prefix="bench-ui-")


def build(size, clock=time.monotonic):
    """The kiosk as ``kiosk run`` builds it (devices switched off), its journey on the display."""
    config = parse_config(
        f"""
        [kiosk]
        id = "BENCH-01"
        data_dir = "{_DATA.name}"
        regency = "71.10"
        [camera]
        backend = "none"
        [signature_pad]
        backend = "none"
        [power]
        backend = "none"
        [printer]
        backend = "none"
        """
    )
    events = EventQueue()
    kiosk = build_kiosk(config, events, clock=clock)
    open_display(size, fullscreen=False)
    view = JourneyView(
        kiosk.journey,
        state=kiosk.state,
        text=TextRenderer(find_fonts()),
        clock=clock,
        devices=kiosk.devices,
        # Saves are answered at once: the walk measures the UI, not the disk.
        registration=InstantRegistration(events),
        kiosk_id=config.kiosk.id,
        events=events,
    )
    app = App(view, events, clock=clock, state=kiosk.state)
    view.attach(app)
    return app, view


def percentile(values, q):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def measure_screens(size, frames: int) -> list[tuple[str, float, float, float, float]]:
    clock = FakeClock()
    app, view = build(size, clock)
    pilot = Pilot(app, clock)
    auto = Autopilot(pilot, view)
    service = view.journey.catalog.get("ektp")
    values = citizen_values(service, view.journey.districts, today=datetime.date.today(), seed=1)
    rows = []

    def sample(name: str) -> None:
        draws, builds = [], []
        for _ in range(frames):
            started = time.perf_counter()
            app.draw()
            draws.append(time.perf_counter() - started)
        for _ in range(max(20, frames // 5)):
            view._tree_key = None  # force the widgets to be made again, as after a tap
            started = time.perf_counter()
            view.root(pygame.display.get_surface().get_size())
            builds.append(time.perf_counter() - started)
        rows.append(
            (
                name,
                statistics.median(draws),
                percentile(draws, 0.99),
                statistics.median(builds),
                percentile(builds, 0.99),
            )
        )

    journey = view.journey
    sample("welcome")
    pilot.tap("welcome.start")
    sample("language")
    pilot.tap("language.id")
    sample("service")
    pilot.tap("service.ektp")
    sample("checklist")
    pilot.tap("nav.next")
    sample("identity")
    pilot.tap("nik")
    sample("identity: NIK keypad")
    pilot.tap("editor.done")
    auto.fill_step(values, name="identity")
    sample("details")
    pilot.tap("full_name")
    sample("details: letter keyboard")
    pilot.tap("editor.done")
    pilot.tap("sex")
    pilot.tap(f"sex.option.{values['sex']}")
    auto.fill_step(values, name="details")
    sample("signature (touch)")
    auto.sign()
    sample("review")
    pilot.tap("review.consent")
    pilot.tap("nav.next")
    pilot.wait_until(lambda: journey.step is Step.RECEIPT, 10)
    sample("receipt")
    app.close()
    return rows


def idle_cpu(seconds: float) -> tuple[float, int]:
    app, view = build((1280, 800))
    app.draw()
    frames = app.frames
    deadline = time.monotonic() + seconds
    before = time.process_time()
    while time.monotonic() < deadline:
        app.step(min(app._timeout(), max(0.0, deadline - time.monotonic())))
    used = time.process_time() - before
    app.close()
    return used / seconds, app.frames - frames


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--idle-seconds", type=float, default=10.0)
    parser.add_argument("--frames", type=int, default=200)
    args = parser.parse_args()

    app, view = build((1280, 800))
    app.draw()
    startup = time.perf_counter() - STARTED
    app.close()
    print(f"start-up to the first welcome frame: {startup * 1000:.0f} ms (imports, fonts, services, journey)")
    print(f"fonts: {view.text.fonts.name}")
    for size in ((1280, 800), (800, 480)):
        print(f"\nframe times at {size[0]}x{size[1]} (dummy driver), ms:")
        print(f"  {'screen':28} {'draw p50':>9} {'draw p99':>9} {'rebuild p50':>12} {'rebuild p99':>12}")
        for name, p50, p99, b50, b99 in measure_screens(size, args.frames):
            print(f"  {name:28} {p50 * 1000:9.2f} {p99 * 1000:9.2f} {b50 * 1000:12.2f} {b99 * 1000:12.2f}")
    share, frames = idle_cpu(args.idle_seconds)
    print(
        f"\nidle CPU on the welcome screen: {share * 100:.2f} % of one core over {args.idle_seconds:.0f} s "
        f"({frames} frames drawn; target < 2 %)"
    )
    peak_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(f"peak memory (max RSS): {peak_kib / 1024:.0f} MiB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
