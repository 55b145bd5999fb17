"""End to end: a citizen pre-registers for an e-KTP on the touchscreen and the registry receives it.

Under the dummy video driver the pilot taps widgets by id through the real screens; the simulated
camera shows a real face photo (NASA's public-domain astronaut portrait), the signature is written on
the Topaz pad emulator behind a pty and read through the real serial driver, the record is sealed into
the real outbox, the real sync worker delivers it to the reference ingest server, and the server's
decrypted copy is compared with what was entered, photographed and signed.
"""

from __future__ import annotations

import logging
import secrets

import msgspec
import pygame
import pytest
from ingest_lab import IngestLab

from hal.camera.simulated import SimulatedCamera
from hal.events import EventQueue
from hal.printer import SimulatedPrinter
from hal.settings import CameraSettings, SignaturePadSettings
from hal.signature_pad.emulator import PadEmulator
from hal.signature_pad.simulated_pad import SimulatedSignaturePad
from kiosk.commands.run import build_kiosk
from kiosk.config import Config, KioskSettings, ServerSettings, SyncSettings
from kiosk.devices import Devices
from kiosk.journey import Step
from kiosk.photo_quality import assess_photo
from kiosk.reference import reference_for
from kiosk.sealing import KioskIdentity
from kiosk.services import load_services
from kiosk.validation import normalize
from ui.app import App, open_display
from ui.autopilot import Autopilot, today
from ui.citizens import citizen_values
from ui.kiosk_app import make_view
from ui.pilot import FakeClock, Pilot

KIOSK_ID = "E2E-KIOSK-01"


@pytest.fixture
def kiosk_on_screen(tmp_path):
    """The whole kiosk, devices simulated, delivering to a reference server on a free loopback port."""
    lab = IngestLab.create(tmp_path / "lab")
    data = tmp_path / "kiosk"
    identity = KioskIdentity.load_or_create(data / "keys")
    token = secrets.token_urlsafe(24)
    store = lab.store()
    store.enroll(KIOSK_ID, identity.verify_key_b64, token)
    store.close()
    with lab.server() as server:
        config = Config(
            kiosk=KioskSettings(id=KIOSK_ID, data_dir=str(data), regency="71.10"),
            server=ServerSettings(
                url=server.url,
                token=token,
                public_key=lab.keys.box_public,
                ack_verify_key=lab.keys.sign_public,
                verify_tls=False,
                timeout_s=5.0,
            ),
            sync=SyncSettings(backoff_initial_s=0.2, backoff_max_s=1.0, poll_interval_s=1.0),
        )
        events = EventQueue()
        camera = SimulatedCamera(
            CameraSettings(backend="simulated", preview_size=(480, 360), still_size=(960, 720)),
            events,
            frame_interval=0.05,
        )
        emulator = PadEmulator(protocol="topaz", rate_hz=400.0)
        pad = SimulatedSignaturePad(SignaturePadSettings(backend="simulated"), events, emulator=emulator)
        printer = SimulatedPrinter(tmp_path / "receipts", events=events)
        devices = Devices(camera=camera, signature_pad=pad, printer=printer)
        clock = FakeClock()
        kiosk = build_kiosk(config, events, devices=devices, clock=clock)
        open_display((800, 480), fullscreen=False)
        view = make_view(kiosk, clock=clock)
        app = App(view, events, clock=clock)
        view.attach(app)
        kiosk.sync.start()
        try:
            yield kiosk, view, Pilot(app, clock), server, tmp_path
        finally:
            app.close()
            kiosk.close()
            pygame.event.clear()


def test_an_ektp_pre_registration_reaches_the_registry_intact(kiosk_on_screen, caplog):
    caplog.set_level(logging.DEBUG)  # every log line of the whole journey, to check for personal data
    kiosk, view, pilot, server, tmp_path = kiosk_on_screen
    journey = kiosk.journey
    service = load_services().get("ektp")
    entered = citizen_values(service, journey.districts, today=today(), seed=7)
    camera = kiosk.devices.camera
    captured: list[bytes] = []
    capture = camera.capture_jpeg

    def keep_capture(*args, **kwargs):
        captured.append(capture(*args, **kwargs))
        return captured[-1]

    camera.capture_jpeg = keep_capture
    emulator = kiosk.devices.signature_pad.emulator
    written = [r for r in emulator.signature() if r.pen_down]
    auto = Autopilot(pilot, view)

    # Welcome -> language -> service -> checklist, tapping by id.
    pilot.tap("welcome.start")
    pilot.tap("language.id")
    pilot.tap("service.ektp")
    assert journey.step is Step.CHECKLIST
    pilot.tap("nav.next")
    # Identity and details: each field opened, typed on the on-screen keyboard (or picked), closed.
    auto.fill_step(entered, name="identity")
    auto.fill_step(entered, name="details")
    # Photo: live preview with the face check, countdown, capture on a worker thread, accept.
    assert journey.step is Step.PHOTO
    auto.take_photo()
    assert journey.step is Step.SIGNATURE
    # Signature: the emulator writes on the pad; the strokes arrive through the serial driver.
    auto.sign()
    assert journey.step is Step.REVIEW
    pilot.tap("review.consent")
    pilot.tap("nav.next")
    pilot.wait_until(lambda: journey.step is Step.RECEIPT, 20, "the commit")
    reference = journey.receipt.reference
    record_id = journey.receipt.record_id
    assert pilot.find("receipt.code").text == reference == reference_for(record_id)
    pilot.wait_until(lambda: view.screen.print_state == "printed", 20, "the printer")
    assert len(list((tmp_path / "receipts").glob("*.png"))) == 1
    auto.wait_for_done()
    pilot.tap("nav.next")
    assert journey.step is Step.WELCOME

    # The sync worker delivers it; the server opens the sealed record with its key.
    pilot.wait_until(lambda: len(server.records()) == 1, 30, "the delivery to the server")
    [received] = server.records()
    record = received.record
    assert received.record_id == record_id and received.kiosk_id == KIOSK_ID
    assert record.service == "ektp" and record.language == "id" and record.consent.given
    assert dict(record.fields) == {spec.id: normalize(spec.kind, entered[spec.id]) for spec in service.fields}
    assert record.photo_jpeg == captured[-1] and record.photo_note is None
    rgb = pygame.surfarray.array3d(pygame.image.load(__import__("io").BytesIO(record.photo_jpeg), "p.jpg"))
    assert assess_photo(rgb.swapaxes(0, 1).copy()).face is not None  # the astronaut's face is in the photo
    signature = record.signature
    assert signature.source == "pad" and (signature.width, signature.height) == (4096, 4096)
    assert [(s.x, s.y) for s in signature.samples if s.pen_down] == [(r.x, r.y) for r in written]
    assert signature.png[:8] == b"\x89PNG\r\n\x1a\n"
    pilot.wait_until(lambda: kiosk.outbox.counts().get("sent") == 1, 10, "the outbox to mark it sent")
    assert msgspec.json.decode(msgspec.json.encode(record.fields))  # plain JSON-able fields, nothing else
    # Nothing the citizen typed reached the logs (the journal on a kiosk).
    logged = caplog.text
    assert logged  # the journey did log (saves, sends, devices)
    for field in ("nik", "kk_number", "full_name", "birth_place", "address", "phone"):
        if entered.get(field):
            assert entered[field] not in logged, f"{field} in the log"
