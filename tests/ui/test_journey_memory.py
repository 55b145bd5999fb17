"""Memory after a journey: a finished journey leaves no citizen data and no large buffers reachable.

A whole kiosk (devices simulated, the outbox, the UI on SDL's dummy driver) takes a synthetic citizen through
the e-KTP pre-registration to the receipt and back to the welcome screen. Then every object the garbage
collector can see, and every object those refer to, is searched: for what the citizen typed (their NIK,
KK number, name), their photo and signature, and for pixel or byte buffers of a size that only a photo, a
camera frame or a screen's worth of cached text reaches. Not an RSS threshold: what is looked for is what a
finished journey must not keep, whatever the allocator does with the pages. The face check's child process,
which held OpenCV and the frames of the citizen's face, must be gone too.
"""

from __future__ import annotations

import gc
import sys
import types
from pathlib import Path

import numpy
import pygame
import pytest

from hal.camera.simulated import SimulatedCamera
from hal.events import EventQueue
from hal.printer import SimulatedPrinter
from hal.settings import CameraSettings, SignaturePadSettings
from hal.signature_pad.emulator import PadEmulator
from hal.signature_pad.simulated_pad import SimulatedSignaturePad
from kiosk.assembly import build_kiosk
from kiosk.commands.run import simulator_config
from kiosk.config import Config, KioskSettings, ServerSettings
from kiosk.devices import Devices
from kiosk.face_check import FaceCheckProcess
from kiosk.journey import Step
from ui import citizens
from ui.app import App, open_display
from ui.autopilot import Autopilot, today
from ui.citizens import citizen_values
from ui.kiosk_app import make_view
from ui.pilot import FakeClock, Pilot

#: Larger than any widget's own pixels or text; smaller than a camera frame (480 x 360 x 3 = 518 KB here),
#: a photo's JPEG or a screenful of cached text.
LARGE = 256 * 1024


@pytest.fixture
def kiosk_on_screen(tmp_path):
    config = Config(
        kiosk=KioskSettings(id="MEMORY-KIOSK", data_dir=str(tmp_path / "kiosk"), regency="71.10"),
        server=ServerSettings(url="http://127.0.0.1:9/", lab=True),
    )
    config = simulator_config(config)
    events = EventQueue()
    camera = SimulatedCamera(
        CameraSettings(backend="simulated", preview_size=(480, 360), still_size=(960, 720)),
        events,
        frame_interval=0.05,
    )
    pad = SimulatedSignaturePad(
        SignaturePadSettings(backend="simulated"),
        events,
        emulator=PadEmulator(protocol="topaz", rate_hz=400.0),
    )
    devices = Devices(
        camera=camera, signature_pad=pad, printer=SimulatedPrinter(tmp_path / "receipts", events=events)
    )
    clock = FakeClock()
    kiosk = build_kiosk(config, events, devices=devices, clock=clock)
    open_display((800, 480), fullscreen=False)
    view = make_view(kiosk, clock=clock)
    app = App(view, events, clock=clock)
    view.attach(app)
    try:
        yield kiosk, view, Pilot(app, clock)
    finally:
        app.close()
        kiosk.close()
        pygame.event.clear()


def _reachable(*roots: object) -> list[object]:
    """Everything reachable from ``roots`` and from the globals of the kiosk's own modules.

    Transitively, through every reference the collector knows of (a string in a cache key's tuple is two
    references from the cache). Other modules are not entered, so what other tests of the same process left
    in their own objects is not the kiosk's.
    """
    gc.collect()
    own, foreign = [], set()
    for name, module in list(sys.modules.items()):
        if module is None:
            continue
        if name.split(".")[0] in ("hal", "kiosk", "ui") and name != "ui.citizens":
            own.append(vars(module))
        else:
            foreign.add(id(vars(module)))  # reached through a function's globals: a library's, not ours
    seen: dict[int, object] = {}
    todo = [*roots, *own]
    while todo:
        thing = todo.pop()
        if id(thing) in seen or id(thing) in foreign or isinstance(thing, types.ModuleType):
            continue
        seen[id(thing)] = thing
        todo.extend(referent for referent in gc.get_referents(thing) if id(referent) not in seen)
    return list(seen.values())


def _plain(text: str) -> str:
    return "".join(text.split()).casefold()


def _typed_by_the_citizen(text: str, secrets_typed: set[str]) -> bool:
    """``text`` holds a secret, or is 8 or more of its characters as the screen shows them while typing."""
    plain = _plain(text)
    return any(secret in plain or (len(plain) >= 8 and plain in secret) for secret in secrets_typed)


def _size(thing: object) -> int:
    if isinstance(thing, (bytes, bytearray, memoryview)):
        return len(thing)
    if isinstance(thing, numpy.ndarray):
        return thing.nbytes
    if isinstance(thing, pygame.Surface):
        width, height = thing.get_size()
        return width * height * thing.get_bytesize()
    return 0


def test_a_finished_journey_leaves_no_citizen_data_and_no_large_buffers(kiosk_on_screen):
    kiosk, view, pilot = kiosk_on_screen
    journey = kiosk.journey
    service = journey.catalog.get("ektp")
    values = citizen_values(service, journey.districts, today=today(), seed=11)
    # The citizen's own words: long enough not to occur by chance in the kiosk's texts.
    secrets_typed = {_plain(values[key]) for key in ("nik", "kk_number", "full_name") if key in values}
    assert len(secrets_typed) == 3
    photos: list[bytes] = []
    capture = kiosk.devices.camera.capture_jpeg

    def keep_photo(*args, **kwargs):
        photos.append(capture(*args, **kwargs))
        return photos[-1]

    kiosk.devices.camera.capture_jpeg = keep_photo
    face_check = kiosk.face_check
    assert isinstance(face_check, FaceCheckProcess)  # the kiosk's own: OpenCV in a child process
    children: list[int | None] = []
    open_check = face_check.open

    def open_and_note() -> None:
        open_check()
        children.append(face_check.pid)

    face_check.open = open_and_note  # type: ignore[method-assign]
    Autopilot(pilot, view).register("ektp", "id", values)
    assert journey.step is Step.WELCOME
    pilot.settle()
    kiosk.devices.camera.capture_jpeg = capture
    # The journey started a child on its way to the photo step and let it go after: none is left.
    assert children and None not in children
    assert face_check.pid is None
    face_check.close().result(timeout=120)  # no child to close: waits for the release already under way
    assert [pid for pid in set(children) if Path(f"/proc/{pid}").exists()] == []

    # What the test itself holds is not the kiosk's: the values it typed and the photo it kept.
    ours = {id(value) for value in values.values()} | {id(photo) for photo in photos}
    photo_prefixes = {photo[:4096] for photo in photos}
    ours |= {id(prefix) for prefix in photo_prefixes} | {id(secret) for secret in secrets_typed}
    # The synthetic citizen's names are made of the generator's word lists, which stay loaded.
    ours |= {id(word) for words in vars(citizens).values() if isinstance(words, tuple) for word in words}
    del values
    photos.clear()

    kept_text, kept_buffers = [], []
    scene = kiosk.devices.camera._scene
    # The simulated camera's own pixels (the bundled picture, and it drawn at the frame sizes): no citizen's.
    allowed = {id(scene.picture), *(id(canvas) for canvas in scene.canvases)} if scene is not None else set()
    display = pygame.display.get_surface()
    for thing in _reachable(kiosk, view, pilot):
        if id(thing) in ours or id(thing) in allowed or thing is display:
            continue
        if isinstance(thing, str) and _typed_by_the_citizen(thing, secrets_typed):
            kept_text.append(thing[:80])
        elif isinstance(thing, (bytes, bytearray)) and bytes(thing[:4096]) in photo_prefixes:
            kept_buffers.append(f"the photo's JPEG, {len(thing)} bytes")
        elif _size(thing) >= LARGE:
            kept_buffers.append(f"{type(thing).__name__} of {_size(thing)} bytes")
    assert kept_text == []
    assert kept_buffers == []
    # The journey was real: the record was saved (sealed) in the outbox.
    assert sum(kiosk.outbox.counts().values()) == 1
