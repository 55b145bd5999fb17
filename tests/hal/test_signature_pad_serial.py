"""The serial driver over a real pty, with the pad emulator on the other end.

Every test waits on events or conditions, never on a sleep; the emulator runs fast (1000 samples/s)
and the reconnect backoff is short.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterator

import pytest

from hal.device import HealthStatus
from hal.errors import DeviceClosed
from hal.events import DeviceHealthChanged, EventQueue, PenSample
from hal.settings import SignaturePadSettings
from hal.signature_pad.emulator import PadEmulator
from hal.signature_pad.protocols import DigitiserSize, PenReading, encode_topaz
from hal.signature_pad.serial_pad import SerialSignaturePad

WAIT = 5.0


class Samples:
    """A pen listener that lets a test wait until enough samples came."""

    def __init__(self) -> None:
        self.items: list[PenSample] = []
        self._changed = threading.Condition()

    def __call__(self, sample: PenSample) -> None:
        with self._changed:
            self.items.append(sample)
            self._changed.notify_all()

    def wait_until(self, done: Callable[[list[PenSample]], bool], timeout: float = WAIT) -> bool:
        with self._changed:
            return self._changed.wait_for(lambda: done(self.items), timeout)

    def readings(self) -> list[PenReading]:
        with self._changed:
            return [PenReading(s.x, s.y, s.pen_down, s.in_range, s.pressure) for s in self.items]


def wait_for_health(events: EventQueue, status: HealthStatus, timeout: float = WAIT) -> DeviceHealthChanged:
    while True:
        event = events.wait_for(DeviceHealthChanged, timeout)
        assert event is not None, f"the pad never became {status}"
        if event.status == status:
            return event


def stroke(count: int, x0: int = 1000, y0: int = 2000, pressure: int | None = None) -> list[PenReading]:
    """Pen arrives, draws ``count - 2`` samples of a diagonal, leaves."""
    middle = [PenReading(x0 + 7 * i, y0 + 3 * i, pen_down=True, pressure=pressure) for i in range(count - 2)]
    first = PenReading(x0, y0, pen_down=False, pressure=0 if pressure is not None else None)
    last = PenReading(middle[-1].x, middle[-1].y, pen_down=False, in_range=False, pressure=first.pressure)
    return [first, *middle, last]


def is_subsequence(wanted: list, got: list) -> bool:
    remaining = iter(got)
    return all(any(item == candidate for candidate in remaining) for item in wanted)


def pad_settings(port: str, protocol: str = "topaz") -> SignaturePadSettings:
    return SignaturePadSettings(
        backend="serial", port=port, protocol=protocol, reconnect_initial_s=0.02, reconnect_max_s=0.1
    )


@pytest.fixture
def emulator(tmp_path) -> Iterator[PadEmulator]:
    with PadEmulator(tmp_path / "signature-pad", rate_hz=1000) as emulator:
        yield emulator


@pytest.fixture
def samples() -> Samples:
    return Samples()


@pytest.fixture
def pad(emulator: PadEmulator, events: EventQueue, samples: Samples) -> Iterator[SerialSignaturePad]:
    pad = SerialSignaturePad(pad_settings(emulator.path), events, clock=lambda: 42.0)
    pad.add_listener(samples)
    yield pad
    pad.close()


def test_samples_arrive_through_the_real_driver_exactly_as_drawn(
    pad: SerialSignaturePad, emulator: PadEmulator, events: EventQueue, samples: Samples
) -> None:
    assert pad.health().ok and pad.connected
    assert (pad.max_x, pad.max_y, pad.max_pressure) == (4095, 4095, None)
    drawn = stroke(40)
    emulator.play(drawn)
    assert samples.wait_until(lambda got: len(got) >= len(drawn))
    assert samples.readings() == drawn
    assert {s.t for s in samples.items} == {42.0}
    posted = [e for e in events.drain() if isinstance(e, PenSample)]
    assert posted == samples.items


def test_unplug_reports_failed_in_plain_words_and_replug_reconnects(
    pad: SerialSignaturePad, emulator: PadEmulator, events: EventQueue, samples: Samples
) -> None:
    emulator.unplug()
    failed = wait_for_health(events, HealthStatus.FAILED)
    assert failed.detail == f"signature pad disconnected ({emulator.path})"
    assert pad.self_test().status is HealthStatus.FAILED

    emulator.replug()
    wait_for_health(events, HealthStatus.OK)
    assert pad.self_test().ok
    drawn = stroke(10, x0=300)
    emulator.play(drawn)
    assert samples.wait_until(lambda got: len(got) >= len(drawn))
    assert samples.readings() == drawn


def test_garbage_in_the_stream_does_not_stop_decoding(
    pad: SerialSignaturePad, emulator: PadEmulator, samples: Samples
) -> None:
    before, after = stroke(12, x0=100), stroke(12, x0=2500)
    cut_short = encode_topaz(PenReading(9, 9, pen_down=True))[:3]
    emulator.play([*before[:6], cut_short, *before[6:]])
    assert samples.wait_until(lambda got: len(got) >= len(before))
    assert samples.readings() == before  # the cut packet is lost, its neighbours are not

    emulator.inject_garbage(64)
    emulator.play(after)
    assert samples.wait_until(lambda got: is_subsequence(after, samples.readings()))
    assert pad.health().ok


def test_a_pad_sending_only_unreadable_bytes_is_reported_degraded_until_packets_come(
    pad: SerialSignaturePad, emulator: PadEmulator, events: EventQueue, samples: Samples
) -> None:
    emulator.write_now([b"\xff" * 1500])  # what a pad at another baud rate looks like
    degraded = wait_for_health(events, HealthStatus.DEGRADED)
    assert "cannot read" in degraded.detail and "baudrate" in degraded.detail
    emulator.play(stroke(5))
    wait_for_health(events, HealthStatus.OK)


def test_isdv4_pad_is_queried_for_its_size_then_started(
    tmp_path, events: EventQueue, samples: Samples
) -> None:
    size = DigitiserSize(max_x=12000, max_y=9000, max_pressure=511)
    with (
        PadEmulator(tmp_path / "wacom", protocol="isdv4", rate_hz=1000, size=size) as emulator,
        SerialSignaturePad(pad_settings(emulator.path, "isdv4"), events) as pad,
    ):
        pad.add_listener(samples)
        assert pad.health().ok
        assert (pad.max_x, pad.max_y, pad.max_pressure) == (12000, 9000, 511)
        drawn = stroke(20, x0=5000, y0=4000, pressure=300)
        emulator.play(drawn)  # sent only once the digitiser was started
        assert samples.wait_until(lambda got: len(got) >= len(drawn))
        assert samples.readings() == drawn
        assert bytes(emulator.received) == b"0*1"
        assert pad.self_test().ok

        emulator.unplug()
        wait_for_health(events, HealthStatus.FAILED)
        emulator.replug()  # powers up silent: only a new greeting starts it again
        wait_for_health(events, HealthStatus.OK)
        emulator.play(stroke(5, pressure=10))
        assert samples.wait_until(lambda got: len(got) >= len(drawn) + 5)


def test_missing_port_never_raises_and_the_pad_is_picked_up_when_plugged_in(
    tmp_path, events: EventQueue
) -> None:
    port = tmp_path / "signature-pad"
    with SerialSignaturePad(pad_settings(str(port)), events) as pad:
        assert pad.health().status is HealthStatus.FAILED
        assert pad.health().detail == f"signature pad not connected ({port})"
        with PadEmulator(port, rate_hz=1000):
            wait_for_health(events, HealthStatus.OK)
            assert pad.connected


def test_a_second_program_on_the_same_pad_is_told_it_is_in_use(
    pad: SerialSignaturePad, emulator: PadEmulator
) -> None:
    with SerialSignaturePad(pad_settings(emulator.path)) as intruder:
        assert intruder.health().status is HealthStatus.FAILED
        assert intruder.health().detail == f"signature pad is in use by another program ({emulator.path})"
    assert pad.health().ok


def test_close_returns_promptly_even_in_a_long_backoff_and_is_idempotent(tmp_path) -> None:
    settings = SignaturePadSettings(backend="serial", port=str(tmp_path / "absent"), reconnect_initial_s=600)
    pad = SerialSignaturePad(settings)
    pad.close()
    assert not pad._supervisor.is_alive()  # close() joins it; a sleeping thread would still be here
    pad.close()
    with pytest.raises(DeviceClosed):
        pad.self_test()


def test_a_failing_listener_neither_stops_the_pad_nor_logs_the_signature(
    pad: SerialSignaturePad,
    emulator: PadEmulator,
    events: EventQueue,
    samples: Samples,
    caplog: pytest.LogCaptureFixture,
) -> None:
    def broken(sample: PenSample) -> None:
        raise ValueError(f"cannot draw {sample.x},{sample.y}")

    pad.add_listener(broken)
    drawn = [PenReading(3917, 2861, pen_down=True), PenReading(3918, 2862, pen_down=False)]
    with caplog.at_level(logging.DEBUG):
        emulator.play(drawn)
        assert samples.wait_until(lambda got: len(got) >= 2)
        emulator.unplug()  # the loss is logged too
        wait_for_health(events, HealthStatus.FAILED)
    pad.remove_listener(broken)
    assert samples.readings() == drawn
    assert any("ValueError" in r.getMessage() for r in caplog.records)
    assert not [r for r in caplog.records if "3917" in r.getMessage() or "2861" in r.getMessage()]
