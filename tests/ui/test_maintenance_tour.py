"""A tour of every maintenance screen, in both languages, at the kiosk's size and at the smallest panel's.

Each screen is checked for tidiness (every control on the screen and none on top of another) and drawn, and
held to the citizen screens' rules (:func:`tests.ui.test_screen_fit.check_screen`): no text below the floor,
nothing clipped, no overlapping touch targets, targets at least the touch minimum, one text size per row
of buttons. To refresh the documentation's screenshots (both languages; 1280 x 800 in ``<folder>/<language>``,
800 x 480 in ``<folder>/800x480/<language>``), name their folder in ``MAINTENANCE_SCREENSHOTS``::

    MAINTENANCE_SCREENSHOTS=docs/screenshots/maintenance pytest tests/ui/test_maintenance_tour.py
"""

from __future__ import annotations

import logging
import os
import threading
from pathlib import Path
from types import SimpleNamespace

import pygame
import pytest
from maintenance_rig import PIN, WRONG_PIN, Rig

from tests.ui.test_screen_fit import check_screen
from ui.widgets import Button, Dialog, Widget

#: Widgets that show a server's, a device's or a log's message of any length: cut with an ellipsis where the
#: page ends (the logs and devices pages keep the whole text). Everything else must show its words whole.
#: The export's result ends with the bundle's long file name: at 800 x 480 the end of the name is cut (the
#: advice comes first and stays whole).
MESSAGES_OF_ANY_LENGTH = (
    "dash.sync.error",
    "dash.problems",
    "dash.device.",
    "network.worker.error",
    "outbox.dead.",
    "outbox.export.result",
    "logs.view",
)

#: The kiosk's usual size (the documentation's screenshots) and the smallest supported panel.
SIZES = ((1280, 800), (800, 480))


#: The real scrypt cost is tests/kiosk/test_maintenance_pin.py's; here many PIN checks must stay fast.
pytestmark = pytest.mark.usefixtures("cheap_scrypt")


def assert_tidy(root: Widget, size: tuple[int, int], where: str) -> None:
    """Every control is on the screen and no two controls overlap (a dialog covers the screen on purpose)."""
    screen = pygame.Rect(0, 0, *size)
    dialogs = [w for w in root.walk() if isinstance(w, Dialog)]
    controls = [
        w for w in root.walk() if isinstance(w, Button) and not any(w in list(d.walk()) for d in dialogs)
    ]
    for control in controls:
        assert screen.contains(control.rect), f"{where}: {control!r} is off the screen"
    for index, control in enumerate(controls):
        for other in controls[index + 1 :]:
            assert not control.rect.colliderect(other.rect), f"{where}: {control!r} overlaps {other!r}"


def a_day_of_samples(rig: Rig) -> None:
    """24 hours of metrics as a kiosk would have recorded them: a network outage in the morning filling the
    queue, a rejected record, a power cut in the afternoon, and the kiosk off for an hour at noon."""
    now = rig.wall()
    for index in range(288):
        at = now - 24 * 3600 + index * 300 + 150
        hour = index / 12
        if 11.5 <= hour < 12.5:
            continue  # switched off
        waiting = min(int((hour - 7) * 3), 14) if 7 <= hour < 11.5 else max(0, 14 - int((hour - 12.5) * 10))
        if hour < 7:
            waiting = index % 7 == 0
        battery = 100.0
        if 16 <= hour < 17:
            battery = 100 - (hour - 16) * 24
        elif 17 <= hour < 19:
            battery = 76 + (hour - 17) * 12
        rig.metrics.record(
            {
                "queue.pending": float(waiting),
                "queue.sending": 0.0,
                "queue.dead": float(hour >= 14),
                "battery.percent": battery,
            },
            now=at,
        )


class Tour:
    """Walks the screens, checks each one and, for the documentation, saves it.

    Args:
        folder: Where to save the screenshots (None: draw and check only; PNG encoding is the slow part).
    """

    def __init__(self, rig: Rig, folder: Path | None, language: str) -> None:
        self.rig = rig
        self.folder = folder / language if folder is not None else None
        self.names: list[str] = []
        self.problems: list[str] = []

    def shot(self, name: str) -> None:
        pilot = self.rig.pilot
        assert_tidy(pilot.root, self.rig.size, f"{name} ({self.rig.size[0]}x{self.rig.size[1]})")
        scene = self.rig.scenes.maintenance
        screen = SimpleNamespace(view=SimpleNamespace(kit=scene.kit), app=self.rig.app, pilot=pilot)
        problems = check_screen(screen, visible_cuts=MESSAGES_OF_ANY_LENGTH)
        # The PIN's dots are drawn as circles: its text (for the pilot) is never drawn as text.
        self.problems += [
            f"{name}: {problem}" for problem in problems if not problem.startswith("'pin.dots'")
        ]
        self.names.append(name)
        if self.folder is None:
            pilot.app.draw()
        else:
            pilot.screenshot(self.folder / f"{len(self.names):02d}-{name}.png")


@pytest.mark.parametrize("language", ["id", "en"])
@pytest.mark.parametrize("size", SIZES, ids=("1280x800", "800x480"))
def test_every_maintenance_screen_renders_tidily(tmp_path: Path, size, language: str) -> None:
    docs = os.environ.get("MAINTENANCE_SCREENSHOTS")
    rig = Rig(tmp_path / "kiosk", size=size, pad=True)
    try:
        rig.serve()
        ids = rig.enqueue(5)
        rig.kill(ids[0], "the server rejected the record (422: same key, other content)")
        rig.kill(ids[1], "the server rejected the record (413: too large)")
        a_day_of_samples(rig)
        rig.start_sync_worker()
        logging.getLogger("kiosk.sync").warning("the server is busy or failing (503); next try in 40 s")
        if docs and language == "id":
            folder = Path(docs) if size == SIZES[0] else Path(docs) / f"{size[0]}x{size[1]}"
            for each in ("id", "en"):  # the documentation shows both languages
                tour(rig, Tour(rig, folder, each), each, strokes=150)
            return
        walked = Tour(rig, None, language)
        tour(rig, walked, language, strokes=20)
    finally:
        rig.close()
    assert len(walked.names) == 16
    assert not walked.problems, f"at {size}, {language}:\n" + "\n".join(walked.problems)


def tour(rig: Rig, tour: Tour, language: str, *, strokes: int) -> None:
    pilot = rig.pilot
    rig.mode.language = language  # the language maintenance opens in (the office's, from the config)
    rig.enqueue(3)
    rig.open_pin_pad()
    for digit in PIN[:4]:
        pilot.tap(f"pin.pad.key.{digit}")
    tour.shot("pin")
    for _ in range(4):
        pilot.tap("pin.pad.key.backspace")
    for _ in range(5):
        rig.type_pin(WRONG_PIN)
    tour.shot("pin-locked")
    rig.wall.advance(61)
    pilot.advance(1.0)
    rig.type_pin(PIN)
    rig.wait_readings()
    tour.shot("dashboard")

    pilot.tap("m.tab.devices")
    pilot.wait_until(lambda: rig.scenes.maintenance.pages["devices"].check is not None, what="the face check")
    tour.shot("devices-camera")
    pilot.tap("devices.pad")
    page = rig.scenes.maintenance.pages["devices"]
    pilot.wait_until(lambda: page.pen_samples > strokes, timeout=20, what="pen strokes")
    tour.shot("devices-signature-pad")
    pilot.tap("devices.printer")
    pilot.tap("devices.printer.print")
    rig.wait_job("print")
    tour.shot("devices-printer")
    pilot.tap("devices.power")
    rig.ups.lose_mains()
    rig.ups.set_battery(83)
    pilot.tap("devices.power.selftest")
    rig.wait_job("selftest.power")
    tour.shot("devices-ups")
    rig.ups.restore_mains()
    rig.ups.set_battery(100)
    rig.ups.poll()

    rig.printer.set_fault("paper_out")
    pilot.tap("m.tab.dashboard")
    pilot.tap("dash.check")
    rig.wait_job("check")
    pilot.wait_until(lambda: pilot.find("dash.device.printer").tone == "error", what="the printer fault")
    tour.shot("dashboard-printer-fault")
    rig.printer.set_fault("none")

    pilot.tap("m.tab.outbox")
    rig.wait_readings()
    tour.shot("outbox")
    gate = Gate(rig.mode.client)
    rig.mode.client = gate
    pilot.tap("outbox.send")
    assert gate.holding.wait(10)
    pilot.wait_until(
        lambda: pilot.exists("outbox.sync.progress") and rig.scenes.maintenance.job("sync").done,
        what="the progress bar",
    )
    tour.shot("outbox-sending")
    gate.go_on.set()
    rig.wait_job("sync")
    rig.mode.client = gate.client
    pilot.tap("outbox.export.0")
    rig.wait_job("export")
    pilot.wait_until(
        lambda: rig.scenes.maintenance.readings.snapshot.records.get("sent", 0) > 0, what="the new figures"
    )
    tour.shot("outbox-sent-and-exported")

    pilot.tap("m.tab.network")
    pilot.tap("network.probe")
    rig.wait_job("probe")
    tour.shot("network")
    pilot.tap("m.tab.history")
    pilot.wait_until(lambda: rig.scenes.maintenance.pages["history"].samples is not None, what="the samples")
    tour.shot("history")
    pilot.tap("m.tab.logs")
    tour.shot("logs")
    pilot.tap("m.tab.power")
    tour.shot("power")
    pilot.tap("power.shutdown")
    tour.shot("power-confirm")
    pilot.tap("power.confirm.cancel")
    pilot.tap("m.leave")
    assert not rig.scenes.in_maintenance


class Gate:
    """The real ingest client, held before its third delivery so that the progress bar can be seen."""

    def __init__(self, client) -> None:
        self.client = client
        self.calls = 0
        self.holding = threading.Event()
        self.go_on = threading.Event()

    def post_record(self, item):
        self.calls += 1
        if self.calls == 3:
            self.holding.set()
            self.go_on.wait(10)
        return self.client.post_record(item)

    def probe(self):
        return self.client.probe()
