"""The receipt's QR code can be scanned off the screen at the counter (issue 13).

The payload is the real one (the kiosk-signed claim of :mod:`kiosk.receipt_qr`, QR version 8 at error
correction M: 49 modules, 57 with the quiet zone). A counter's scanner reading a screen needs about 3 px
per module, so the code with its quiet zone must be at least 150 px across at 800 x 480, and larger on a
larger panel. The frame the citizen sees is then decoded with OpenCV's QR reader, as a scanner would.
"""

from __future__ import annotations

import cv2
import numpy
import pygame
import pytest

from kiosk.events import RecordSaved
from kiosk.receipt_qr import encode_receipt_qr
from kiosk.reference import reference_for
from kiosk.sealing import KioskIdentity
from tests.kiosk.test_receipt_qr import sealed
from tests.ui.test_journey_screens import save_to_receipt


class SignedRegistration:
    """Saves at once, as the registration worker does, with the kiosk-signed QR payload."""

    def __init__(self, payload: str, record_id: str) -> None:
        self.payload = payload
        self.record_id = record_id
        self.events = None
        self.requests: list = []

    def submit(self, request) -> None:
        self.requests.append(request)
        self.events.post(
            RecordSaved(
                reference=reference_for(self.record_id), record_id=self.record_id, qr_payload=self.payload
            )
        )


@pytest.mark.parametrize(
    ("size", "smallest"), [((800, 480), 150), ((1280, 800), 240)], ids=["800x480", "1280x800"]
)
def test_the_receipt_qr_is_large_enough_to_scan_off_the_screen(on_screen, tmp_path, size, smallest):
    identity = KioskIdentity.load_or_create(tmp_path / "keys")
    record = sealed(identity_=identity)
    payload = encode_receipt_qr(record, identity)
    registration = SignedRegistration(payload, record.record_id)
    screen = on_screen(size=size, registration=registration)
    registration.events = screen.events
    pilot = screen.pilot
    save_to_receipt(screen)

    qr = pilot.find("receipt.qr")
    assert qr.data == payload
    assert qr.modules == 57  # version 8 and its quiet zone: the size this test is about
    assert qr.module_px >= 3, f"{qr.module_px} px per module"
    assert qr.image.get_width() >= smallest
    assert qr.rect.contains(qr.image.get_rect(center=qr.rect.center))
    # What the citizen sees, read as a counter scanner aimed at the code would (the drawn code with its
    # quiet zone, cut from the frame on the screen: OpenCV's detector, unlike a scanner, also hunts the rest
    # of the screen for finder patterns, and is misled by text now and then).
    pilot.app.draw()
    shown = qr.image.get_rect(center=qr.rect.center)
    pixels = pygame.surfarray.array3d(pygame.display.get_surface().subsurface(shown)).swapaxes(0, 1)
    grey = cv2.cvtColor(numpy.ascontiguousarray(pixels), cv2.COLOR_RGB2GRAY)
    text, _, _ = cv2.QRCodeDetector().detectAndDecode(grey)
    assert text == payload
