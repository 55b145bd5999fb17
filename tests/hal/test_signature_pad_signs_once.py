"""The simulated pad signs once each time the kiosk expects a signature, not in a loop (issue 13)."""

from __future__ import annotations

import threading

from hal.events import EventQueue, PenSample
from hal.settings import SignaturePadSettings
from hal.signature_pad.emulator import PadEmulator
from hal.signature_pad.simulated_pad import SimulatedSignaturePad


def test_the_simulated_pad_signs_once_per_expected_signature():
    samples: list[PenSample] = []
    lifted = threading.Event()

    def keep(sample: PenSample) -> None:
        samples.append(sample)
        if not sample.pen_down and any(s.pen_down for s in samples):
            lifted.set()

    with SimulatedSignaturePad(SignaturePadSettings(backend="simulated"), EventQueue()) as pad:
        assert pad.signs_when_expected and not pad.emulator.autoplay
        pad.add_listener(keep)
        assert not samples  # nothing before the kiosk asks
        pad.expect_signature()
        # One signature queued and nothing after it: the emulator does not loop.
        assert pad.emulator._queue and not pad.emulator.autoplay
        assert lifted.wait(20), "no signature arrived"


def test_a_pad_driven_by_a_test_is_left_alone():
    emulator = PadEmulator(protocol="topaz")
    with SimulatedSignaturePad(
        SignaturePadSettings(backend="simulated"), EventQueue(), emulator=emulator
    ) as pad:
        assert not pad.signs_when_expected
        pad.expect_signature()
        assert not emulator._queue
