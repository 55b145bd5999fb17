"""Fixtures shared by every test: headless SDL, gpiozero's mock pins, an event queue."""

from __future__ import annotations

import os

# Before pygame or gpiozero are imported anywhere: render off-screen, no sound card, mock pins.
os.environ.setdefault("SDL_VIDEODRIVER", "dummy")
os.environ.setdefault("SDL_AUDIODRIVER", "dummy")
os.environ.setdefault("GPIOZERO_PIN_FACTORY", "mock")
os.environ.setdefault("PYGAME_HIDE_SUPPORT_PROMPT", "1")

import pytest  # noqa: E402

from hal.events import EventQueue  # noqa: E402


@pytest.fixture
def cheap_scrypt(monkeypatch: pytest.MonkeyPatch) -> None:
    """The technician PIN's scrypt at a test's cost (its real cost is tested in test_maintenance_pin)."""
    monkeypatch.setattr("kiosk.maintenance.pin.SCRYPT_N", 2**8)


@pytest.fixture
def events() -> EventQueue:
    """A fresh event queue, as the main loop would own."""
    return EventQueue()


@pytest.fixture
def mock_pins():
    """gpiozero's own MockFactory, installed for one test and reset afterwards."""
    from gpiozero import Device
    from gpiozero.pins.mock import MockFactory

    previous = Device.pin_factory
    factory = MockFactory()
    Device.pin_factory = factory
    try:
        yield factory
    finally:
        factory.reset()
        Device.pin_factory = previous


# -- delivery: the office service (office/, uvicorn on loopback, SQLite in tmp) and the fault proxy ---
@pytest.fixture
def lab(tmp_path):
    """Server keys, an enrolled kiosk with its key, and the databases, in ``tmp_path/lab``."""
    from ingest_lab import IngestLab

    return IngestLab.create(tmp_path / "lab")


@pytest.fixture
def server(lab):
    """The office service on a free loopback port, for one test (``url``, ``store``, ``records()``)."""
    with lab.server() as server:
        yield server


@pytest.fixture
def proxy(server):
    """A fault proxy in front of ``server`` (modes switched by the test)."""
    from fault_proxy import FaultProxy

    with FaultProxy(server.url) as proxy:
        yield proxy
