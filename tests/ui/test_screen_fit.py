"""Every citizen screen fits every supported display, in both languages, calm and high contrast (issue 13).

A whole e-KTP walk with long, realistic answers (a 120-character address, a long name) is drawn at
800x480, 1024x600, 1280x800 and 1920x1080. On every screen, dialog and open editor:

* no text is drawn below the resolution's floor (:attr:`ui.theme.Metrics.text_floor`);
* nothing is clipped: every text a widget means to show is drawn whole, inside the widget and the card it
  sits on, on the screen
  (a field's value is one line that scrolls; unedited it shows its start);
* no two touch targets overlap, and every touch target is at least :attr:`ui.theme.Metrics.touch_min`;
* the buttons of one row share one text size, and a chevron never sits alone on a line.

Texts are seen where they are drawn: each widget's ``draw`` and the text renderer are wrapped for one
frame, so a text is attributed to the widget that drew it.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import pygame
import pytest

from hal.camera.simulated import SimulatedCamera
from hal.settings import CameraSettings
from kiosk.devices import Devices
from kiosk.journey import Step
from tests.ui.test_journey_screens import values
from ui.autopilot import Autopilot
from ui.widgets import Button, Panel, TextField
from ui.widgets.base import Widget

SIZES = [(800, 480), (1024, 600), (1280, 800), (1920, 1080)]
LONG_ADDRESS = (
    "Jalan Trans Sulawesi Nomor 127, Lorong Pohon Mangga Dua, RT 003 / RW 005, dekat Masjid Nurul Huda, "
    "Desa Buyat Barat"
)
LONG_NAME = "Maria Magdalena Christina Wulandari Pangemanan Sondakh"


@dataclass
class Drawn:
    """One text drawn in a frame, by the widget that drew it."""

    widget: Widget
    text: str
    size: int
    rect: pygame.Rect
    #: The cards (panels) it was drawn on: it must stay inside them.
    panels: tuple[Widget, ...] = ()


class Frame:
    """Draws the screen once and records every text, its size, where it went and which widget drew it."""

    def __init__(self, screen) -> None:
        self.screen = screen
        self.drawn: list[Drawn] = []

    @contextmanager
    def _recording(self, root: Widget) -> Iterator[None]:
        text = self.screen.view.kit.text
        stack: list[Widget] = []
        rendered: dict[int, tuple[str, int]] = {}
        render, blit_target = text.render, self

        def recording_render(line, size, color, *, bold=False):
            image = render(line, size, color, bold=bold)
            rendered[id(image)] = (line, size)
            return image

        class Recorder(pygame.Surface):
            def blit(self, source, dest, *args, **kwargs):
                if id(source) in rendered and stack:
                    line, size = rendered[id(source)]
                    rect = source.get_rect(topleft=dest if len(dest) == 2 else dest[:2])
                    # A scrolling list clips its rows to its window: only what shows is checked.
                    visible = rect.clip(self.get_clip())
                    if visible.width and visible.height:
                        panels = tuple(w for w in stack if isinstance(w, Panel))
                        blit_target.drawn.append(Drawn(stack[-1], line, size, visible, panels))
                return super().blit(source, dest, *args, **kwargs)

        originals = []
        for widget in root.walk():
            draw = widget.draw

            def wrapped(surface, now, _widget=widget, _draw=draw):
                stack.append(_widget)
                try:
                    _draw(surface, now)
                finally:
                    stack.pop()

            originals.append(widget)
            widget.draw = wrapped  # type: ignore[method-assign]
        text.render = recording_render
        self.surface = Recorder(pygame.display.get_surface().get_size(), pygame.SRCALPHA)
        try:
            yield
        finally:
            text.render = render
            for widget in originals:
                del widget.draw

    def draw(self) -> Frame:
        app = self.screen.app
        root = app._current_root()
        with self._recording(root):
            root.draw(self.surface, app.clock())
        return self


def reachable(root: Widget, widget: Widget) -> bool:
    """Whether a tap in the middle of ``widget`` reaches it (or a part of it, or what handles it)."""
    under = root.hit(widget.rect.center)
    return under is not None and (
        under is widget or any(w is under for w in widget.walk()) or any(w is widget for w in under.walk())
    )


def check_screen(screen, *, visible_cuts: tuple[str, ...] = ()) -> list[str]:
    """Every rule of the module docstring, on the screen shown now: the problems found.

    ``visible_cuts``: ids (or id prefixes) of widgets that show messages of any length (a technician's page
    showing a server's error, kept whole on the logs page); such a widget may cut its text where the reader
    sees it was cut, with an ellipsis.
    """
    pilot, kit = screen.pilot, screen.view.kit
    m = kit.metrics
    size = pygame.display.get_surface().get_size()
    bounds = pygame.Rect(0, 0, *size)
    frame = Frame(screen).draw()
    problems: list[str] = []
    for item in frame.drawn:
        label = f"{item.widget.id!r} {item.text[:40]!r}"
        if item.size < m.text_floor:
            problems.append(f"{label} at {item.size} px < floor {m.text_floor}")
        if not bounds.contains(item.rect):
            problems.append(f"{label} off the screen at {item.rect}")
        elif not item.widget.rect.inflate(2, m.px(8)).contains(item.rect):
            problems.append(f"{label} outside its widget {item.widget.rect}: {item.rect}")
        for panel in item.panels:
            if not panel.rect.contains(item.rect):
                problems.append(f"{label} spills out of its card {panel.id!r}")
    problems += row_problems(frame.drawn)
    by_widget: dict[int, str] = {}
    cut: set[int] = set()
    for item in frame.drawn:
        by_widget[id(item.widget)] = by_widget.get(id(item.widget), "") + item.text
        if visible_cuts and item.widget.id.startswith(visible_cuts) and item.text.rstrip().endswith("\u2026"):
            cut.add(id(item.widget))
    for widget in pilot.widgets():
        if id(widget) in cut:
            continue
        shown = "".join(by_widget.get(id(widget), "").split())
        meant = widget.texts()
        if isinstance(widget, TextField) and widget.value:
            # One line that scrolls while typing; unedited, it must show the value's start.
            value = "".join(widget.value.split())
            meant = [t for t in meant if t != widget.value]
            if not widget.focused and value[:8] not in shown:
                problems.append(f"field {widget.id!r} does not show the start of its value")
        for text in meant:
            if "".join(text.split()) not in shown:
                problems.append(f"{widget.id!r} clips {text[:50]!r} (drawn: {shown[:60]!r})")
    # Targets a finger can reach now (a dialog covers the screen's own: those are not targets meanwhile).
    root = pilot.root
    touchable = [w for w in pilot.widgets() if w.interactive and w.enabled and reachable(root, w)]
    for widget in touchable:
        if min(widget.rect.size) < m.touch_min:
            problems.append(f"target {widget.id!r} {widget.rect.size} < {m.touch_min} px")
    for i, one in enumerate(touchable):
        for other in touchable[i + 1 :]:
            if one.rect.contains(other.rect) or other.rect.contains(one.rect):
                continue  # a background target ("touch anywhere", a dialog's outside) under buttons on it
            overlap = one.rect.clip(other.rect)
            if overlap.width * overlap.height:
                problems.append(f"targets {one.id!r} and {other.id!r} overlap")
    return sorted(set(problems))


def row_problems(drawn: list[Drawn]) -> list[str]:
    """Buttons side by side (one top, one height) drawn in more than one text size; a chevron alone."""
    rows: dict[tuple[int, int], dict[str, set[int]]] = {}
    problems: list[str] = []
    for item in drawn:
        widget = item.widget
        if not isinstance(widget, Button) or widget.style == "key" or widget.detail:
            continue
        rows.setdefault((widget.rect.y, widget.rect.height), {}).setdefault(widget.id, set()).add(item.size)
        if item.text.strip() in ("\u203a", "\u2039"):
            problems.append(f"{widget.id!r}: its chevron is alone on a line")
    for row in rows.values():
        sizes = {size for each in row.values() for size in each}
        if len(row) > 1 and len(sizes) > 1:
            problems.append(f"one row, several text sizes: {dict(sorted(row.items()))}")
    return problems


class CheckingAutopilot(Autopilot):
    """The autopilot, checking every screen where it would take a screenshot."""

    def __init__(self, screen) -> None:
        super().__init__(screen.pilot, screen.view, shots=None)
        self.screen = screen
        self.checked: list[str] = []
        self.problems: list[str] = []

    def shot(self, name: str) -> None:
        self.problems += [f"{name}: {problem}" for problem in check_screen(self.screen)]
        self.checked.append(name)
        if name.startswith("review") and self.pilot.exists("review.more"):
            # Every page of the answers, then back to the first.
            pages = int(re.search(r"/(\d+)", self.pilot.find("review.more").label).group(1))
            for page in range(2, pages + 1):
                self.pilot.tap("review.more")
                self.problems += [f"{name} p{page}: {problem}" for problem in check_screen(self.screen)]
            self.pilot.tap("review.more")


@pytest.mark.parametrize("contrast", [False, True], ids=["calm", "high-contrast"])
@pytest.mark.parametrize("language", ["id", "en"])
@pytest.mark.parametrize("size", SIZES, ids=[f"{w}x{h}" for w, h in SIZES])
def test_every_citizen_screen_fits(on_screen, size, language, contrast):
    camera = SimulatedCamera(
        CameraSettings(backend="simulated", preview_size=(320, 240), still_size=(640, 480)),
        frame_interval=0.05,
    )
    try:
        screen = on_screen(
            devices=Devices(camera=camera), size=size, language=language, high_contrast=contrast
        )
        pilot, journey = screen.pilot, screen.journey
        auto = CheckingAutopilot(screen)
        entered = {**values(), "address": LONG_ADDRESS, "full_name": LONG_NAME}
        # The errors beside empty fields, then the whole walk with every editor open once.
        pilot.tap("welcome.start")
        pilot.tap(f"language.{language}")
        pilot.tap("service.ektp")
        pilot.tap("nav.next")
        pilot.tap("nav.next")
        auto.shot("identity-errors")
        pilot.tap("nav.cancel")
        assert journey.step is Step.WELCOME
        auto.register("ektp", language, entered, shoot_editors=True)
        # The dialogs: "Mulai lagi" with answers, and the idle question.
        pilot.tap("welcome.start")
        pilot.tap(f"language.{language}")
        pilot.tap("service.ektp")
        pilot.tap("nav.next")
        auto.fill_step(entered, name="identity")
        pilot.tap("nav.cancel")
        auto.shot("start-over")
        pilot.tap("start_over.no")
        pilot.advance(61)
        auto.shot("idle")
        expected = {"welcome", "language", "service", "checklist-ektp", "review-ektp", "receipt-ektp"}
        assert expected <= set(auto.checked)
        assert any(name.startswith("details-ektp-edit-text") for name in auto.checked)
        assert not auto.problems, f"at {size}:\n" + "\n".join(auto.problems)
    finally:
        camera.close()
