"""Widgets, input and the main loop, driven through the pilot on the dummy display."""

from __future__ import annotations

import io
import threading

import cv2
import numpy
import pygame
import pytest

from hal.events import EventQueue, MainsLost
from ui.app import App
from ui.input import PointerReader
from ui.pilot import FakeClock, Pilot
from ui.signature import Ink
from ui.widgets import Button, Container, Keyboard, Label, ListPicker, QrCode, SignatureCanvas
from ui.widgets.qr import qr_surface


class Scene:
    """A scene made of whatever widgets a test puts in ``build``."""

    def __init__(self, kit, build) -> None:
        self.kit = kit
        self.build = build
        self.events: list = []
        self.touches = 0
        self._root = None

    def root(self, size):
        if self._root is None:
            self._root = Container("root", (0, 0, *size), self.kit, self.build())
        return self._root

    def handle_event(self, event):
        self.events.append(event)
        return True

    def touched(self):
        self.touches += 1

    def update(self, now):
        pass

    def next_deadline(self, now):
        return None

    def key(self, event):
        pass

    def shown(self):
        return self


def running(kit, build):
    clock = FakeClock()
    events = EventQueue()
    scene = Scene(kit, build)
    app = App(scene, events, clock=clock)
    return app, Pilot(app, clock), scene


def test_a_finger_tap_presses_a_button_once_although_sdl_also_sends_a_mouse_click(kit):
    taps = []
    app, pilot, _ = running(kit, lambda: [Button("ok", (20, 20, 200, 60), kit, "OK", lambda: taps.append(1))])
    pilot.tap("ok")  # posts FINGERDOWN/UP and the synthetic MOUSEBUTTON events marked touch=True
    assert taps == [1]
    app.close()


def test_a_real_mouse_click_still_works_on_a_desktop(kit):
    taps = []
    app, pilot, _ = running(kit, lambda: [Button("ok", (20, 20, 200, 60), kit, "OK", lambda: taps.append(1))])
    pygame.event.post(pygame.event.Event(pygame.MOUSEBUTTONDOWN, pos=(50, 50), button=1, touch=False))
    pygame.event.post(pygame.event.Event(pygame.MOUSEBUTTONUP, pos=(50, 50), button=1, touch=False))
    pilot.settle()
    assert taps == [1]
    app.close()


def test_a_second_finger_is_ignored_while_the_first_is_down():
    reader = PointerReader(lambda: (800, 480))
    down = reader.read(pygame.event.Event(pygame.FINGERDOWN, finger_id=1, x=0.1, y=0.1))
    second = reader.read(pygame.event.Event(pygame.FINGERDOWN, finger_id=2, x=0.5, y=0.5))
    second_up = reader.read(pygame.event.Event(pygame.FINGERUP, finger_id=2, x=0.5, y=0.5))
    up = reader.read(pygame.event.Event(pygame.FINGERUP, finger_id=1, x=0.1, y=0.1))
    assert (down.kind, down.pos) == ("down", (80, 48))
    assert second is None and second_up is None
    assert up.kind == "up"


def test_sliding_off_a_button_before_lifting_does_not_press_it(kit):
    taps = []
    app, pilot, _ = running(kit, lambda: [Button("ok", (20, 20, 200, 60), kit, "OK", lambda: taps.append(1))])
    pilot.drag([(50, 50), (300, 300)])
    assert taps == []
    app.close()


def test_disabled_buttons_cannot_be_tapped(kit):
    app, pilot, _ = running(
        kit, lambda: [Button("ok", (20, 20, 200, 60), kit, "OK", lambda: None, enabled=False)]
    )
    with pytest.raises(AssertionError, match="disabled"):
        pilot.tap("ok")
    app.close()


def test_keyboards_type_letters_punctuation_and_digits_by_key_id(kit):
    typed: list[str] = []
    app, pilot, _ = running(
        kit, lambda: [Keyboard("keyboard", (0, 200, 800, 270), kit, "letters_digits", typed.append)]
    )
    pilot.type("NI'MAH-RT 02/03, JL.")
    pilot.tap("keyboard.key.backspace")
    assert "".join(typed[:-1]) == "NI'MAH-RT 02/03, JL."
    assert typed[-1] == "\b"
    app.close()


def test_numeric_pad_has_only_digits_and_delete(kit):
    pad = Keyboard("pad", (200, 100, 400, 300), kit, "digits", lambda key: None)
    names = sorted(w.id.split(".")[-1] for w in pad.widgets)
    assert names == sorted([*"0123456789", "backspace"])
    assert all(w.rect.height >= kit.metrics.px(48) for w in pad.widgets)


def test_touch_targets_are_at_least_nine_millimetres_on_a_seven_inch_panel(kit):
    # 800 x 480 on a 7 inch panel is about 133 dpi: 9 mm = 47 px.
    assert kit.metrics.touch >= 47
    letters = Keyboard("kb", (0, 0, 800, 260), kit, "letters", lambda key: None)
    assert min(min(w.rect.width, w.rect.height) for w in letters.widgets) >= 40  # keys: ~7.6 mm pitch minimum


def test_list_picker_taps_pick_and_drags_scroll(kit):
    picked: list[str] = []
    options = [(f"{i:02d}", f"Kecamatan {i}") for i in range(30)]
    app, pilot, _ = running(
        kit, lambda: [ListPicker("kec", (20, 20, 760, 400), kit, options, None, picked.append)]
    )
    picker = pilot.find("kec")
    assert not pilot.exists("kec.option.29")
    pilot.tap("kec.option.00")
    assert picked == ["00"]
    pilot.drag([(200, 350), (200, 300), (200, 200), (200, 100)])  # scrolls, picks nothing
    assert picked == ["00"] and picker.offset > 0
    while not pilot.exists("kec.option.29"):
        pilot.tap("kec.down")
    assert not pilot.find("kec.down").enabled
    pilot.tap("kec.option.29")
    assert picked == ["00", "29"]
    app.close()


def test_text_is_laid_out_once_and_frames_only_blit(kit):
    app, pilot, _ = running(
        kit,
        lambda: [
            Label("l", (10, 10, 600, 100), kit, "Selamat datang di anjungan"),
            Button("b", (10, 200, 200, 60), kit, "Lanjut"),
        ],
    )
    pilot.screenshot()
    before = kit.text.renders
    for _ in range(5):
        app.draw()
    assert kit.text.renders == before
    app.close()


def test_the_loop_sleeps_without_drawing_when_nothing_happens(kit):
    app, pilot, _ = running(kit, lambda: [Label("l", (10, 10, 600, 100), kit, "idle")])
    frames = app.frames
    for _ in range(3):
        app.step(0.0)
    assert app.frames == frames


def test_an_event_posted_from_another_thread_wakes_the_sleeping_loop(kit):
    clock = FakeClock()
    events = EventQueue()
    scene = Scene(kit, lambda: [Label("l", (10, 10, 600, 100), kit, "idle")])
    app = App(scene, events, clock=clock)
    app.step(0.0)
    ready = threading.Event()

    def post():
        ready.wait()
        events.post(MainsLost())

    thread = threading.Thread(target=post)
    thread.start()
    ready.set()
    # Without the waker this would sleep the full 30 s (and the test would time out).
    deadline = 0
    while not scene.events and deadline < 10:
        app.step(30.0)
        deadline += 1
    thread.join()
    assert isinstance(scene.events[0], MainsLost)
    app.close()


def test_background_work_reports_back_on_the_main_thread(kit):
    app, pilot, _ = running(kit, lambda: [])
    results = []
    main = threading.get_ident()
    app.run_in_background(
        lambda: threading.get_ident(), lambda f: results.append((f.result(), threading.get_ident()))
    )
    pilot.wait_until(lambda: results, 5.0)
    worker, caller = results[0]
    assert worker != main and caller == main
    app.close()


def test_qr_code_scans_back_to_the_reference(kit):
    image = qr_surface("7KQ2-M9XD-4RA", 300)
    array = pygame.surfarray.array3d(image).swapaxes(0, 1)
    decoded, _points, _ = cv2.QRCodeDetector().detectAndDecode(numpy.ascontiguousarray(array))
    assert decoded == "7KQ2-M9XD-4RA"
    assert QrCode("qr", (0, 0, 200, 200), kit, "X").image.get_width() <= 200


def test_finger_signature_becomes_samples_and_a_png(kit):
    clock = FakeClock()
    ink = Ink("touch", 1500, 600, clock)
    app, pilot, _ = running(kit, lambda: [SignatureCanvas("sig", (50, 50, 700, 280), kit, ink, touch=True)])
    pilot.drag([(100, 200), (200, 150), (300, 220), (400, 160)])
    assert ink.has_ink
    capture = ink.capture()
    assert capture.source == "touch" and (capture.width, capture.height) == (1500, 600)
    assert [s.pen_down for s in capture.samples] == [True, True, True, True, False]
    assert pygame.image.load(io.BytesIO(capture.png), "x.png").get_width() == 600
    app.close()
